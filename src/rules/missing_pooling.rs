//! missing-pooling: a client or connection meant to live for the process, created per call.

use super::RuleContext;
use crate::diagnostic::Finding;
use crate::model::Use;

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    for call in &cx.file.calls {
        let (Some(name), Some(key)) = (&call.callee, super::api_name(call)) else {
            continue;
        };
        let Some(entry) = cx.apis.lookup(&key, call.first_arg.as_deref()) else {
            continue;
        };
        // A lazy singleton keeps what it creates in a module-level variable, a field or a static.
        if call.result == Use::Stored || call.lazy_init || !cx.in_context(call.in_fn) {
            continue;
        }
        let Some(f) = call.in_fn else { continue };
        // A factory that hands the client to callers we cannot see may well run once.
        if call.result == Use::Returned && !cx.fn_context(f).per_request {
            continue;
        }
        let what = if call.construct {
            format!("new {name}")
        } else {
            format!("{name}(...)")
        };
        let message = format!(
            "`{what}` creates a client per call {}; create it once and reuse it",
            cx.where_phrase(call.in_fn)
        );
        out.push(cx.finding(&entry.check, call.span, call.in_fn, message, &entry.hint));
    }
}
