//! sync-io: a blocking call with a non-blocking twin, where it stalls the server (SPEC §3).
//! Which calls block is the catalog's `apis`; where they count is its `contexts`.

use super::RuleContext;
use crate::diagnostic::Finding;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for call in &cx.file.calls {
        let (Some(name), Some(key)) = (&call.callee, super::api_name(call)) else {
            continue;
        };
        let Some(entry) = cx.apis.lookup(&key, call.first_arg.as_deref()) else {
            continue;
        };
        // Filling a lazy singleton runs once, like startup.
        let contexts = if entry.contexts.is_empty() {
            &cx.section.contexts
        } else {
            &entry.contexts
        };
        if call.lazy_init || !cx.in_contexts(contexts, call.in_fn) {
            continue;
        }
        let message = format!(
            "`{name}` {} {}",
            cx.section.effect,
            cx.where_phrase(call.in_fn)
        );
        out.push(cx.finding(&entry.check, call.span, call.in_fn, message, &entry.hint));
    }
}
