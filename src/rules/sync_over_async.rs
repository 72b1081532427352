//! sync-over-async: blocking a thread to wait for async work — `.Result`/`.Wait()` on tasks,
//! `asyncio.run` inside async code, `deasync`/`Atomics.wait` on Node's main thread.

use super::RuleContext;
use crate::diagnostic::Finding;
use crate::model::TaskEvidence;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for call in &cx.file.calls {
        let Some(name) = &call.callee else { continue };
        let Some(entry) = cx.apis.lookup(name, call.first_arg.as_deref()) else {
            continue;
        };
        let contexts = if entry.contexts.is_empty() {
            &cx.section.contexts
        } else {
            &entry.contexts
        };
        if !cx.in_contexts(contexts, call.in_fn) {
            continue;
        }
        let message = format!(
            "`{name}` blocks a thread until async work finishes {}",
            cx.where_phrase(call.in_fn)
        );
        out.push(cx.finding(&entry.check, call.span, call.in_fn, message, &entry.hint));
    }
    for wait in &cx.file.waits {
        // `.Result` of something nothing shows to be a pending task stays quiet.
        let on = match (wait.on, &wait.target) {
            (TaskEvidence::Unknown, Some(t)) => match cx.project.resolve(cx.file_index, t) {
                Some((file, f)) if cx.project.files[file].functions[f].returns_task => {
                    TaskEvidence::Task
                }
                _ => TaskEvidence::Unknown,
            },
            (on, _) => on,
        };
        if on != TaskEvidence::Task || !cx.in_context(wait.in_fn) {
            continue;
        }
        let message = format!(
            "blocking wait on a task ({}) {}",
            wait.kind.check(),
            cx.where_phrase(wait.in_fn)
        );
        out.push(cx.finding(wait.kind.check(), wait.span, wait.in_fn, message, ""));
    }
}
