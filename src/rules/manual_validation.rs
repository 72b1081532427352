//! manual-validation: a handler checks request fields by hand and answers 400/422 where a
//! schema validator is the norm. Reported once per handler, at the first such check.

use super::RuleContext;
use crate::diagnostic::Finding;
use crate::model::{FnId, Role};

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    let validators = cx.catalog.validators(cx.family());
    for (id, func) in cx.file.functions.iter().enumerate() {
        let Role::Handler(h) = &func.role else {
            continue;
        };
        if h.validated || h.middleware.iter().any(|m| validators.is_match(m)) {
            continue;
        }
        let inside = |f: FnId| is_within(cx, f, id);
        let uses_validator = cx.file.calls.iter().any(|c| {
            c.in_fn.is_some_and(inside)
                && (validators.is_match(&c.text)
                    || c.callee.as_deref().is_some_and(|n| validators.is_match(n)))
        });
        if uses_validator {
            continue;
        }
        let first = cx
            .file
            .guards
            .iter()
            .filter(|g| inside(g.in_fn) && g.checks && cx.section.statuses.contains(&g.status))
            .filter(|g| g.reads.iter().any(|r| is_request_input(cx, r)))
            .min_by_key(|g| g.span.start);
        if let Some(g) = first {
            let message = format!(
                "hand-written validation of request input answering {}: declare a schema instead",
                g.status
            );
            out.push(cx.finding("manual-check", g.span, Some(id), message, ""));
        }
    }
}

fn is_within(cx: &RuleContext, mut f: FnId, ancestor: FnId) -> bool {
    loop {
        if f == ancestor {
            return true;
        }
        match cx.file.functions[f].parent {
            Some(p) => f = p,
            None => return false,
        }
    }
}

/// `req.body.email` reads `req.body`; `req.bodyParser` does not.
fn is_request_input(cx: &RuleContext, path: &str) -> bool {
    cx.section.request_inputs.iter().any(|input| {
        path.strip_prefix(input.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[', '(']))
    })
}
