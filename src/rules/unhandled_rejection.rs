//! unhandled-rejection: async failure nothing observes — floating promises and tasks,
//! `.then()` without `.catch()`, async callbacks whose promise is dropped, unprotected async
//! handlers of frameworks that do not catch, `async void`.

use super::RuleContext;
use crate::diagnostic::Finding;
use crate::model::{Call, Role, Use};

pub fn check(cx: &RuleContext, out: &mut Vec<Finding>) {
    floating_calls(cx, out);
    async_callbacks(cx, out);
    unprotected_handlers(cx, out);
}

/// The calls this rule reads: dropped results that may be promises, and `then` chains.
pub fn retains(call: &Call, sources: &globset::GlobSet) -> bool {
    call.result == Use::Discarded
        && (matches!(call.method(), "then" | "finally")
            || call.callee.as_deref().is_some_and(|n| sources.is_match(n)))
}

fn floating_calls(cx: &RuleContext, out: &mut Vec<Finding>) {
    let calls = &cx.file.calls;
    for call in calls {
        if call.result != Use::Discarded {
            continue;
        }
        let method = call.method();
        if call.text.contains('.') && matches!(method, "then" | "finally") {
            if !chain_is_caught(calls, call) && !built_by_library(cx, calls, call) {
                let message =
                    "promise chain has no `.catch()`: a rejection is never handled".into();
                out.push(cx.finding("then-without-catch", call.span, call.in_fn, message, ""));
            }
            continue;
        }
        // `catch`, or a callback-style call: the outcome goes to the callback.
        if method == "catch" || call.callback_arg {
            continue;
        }
        if !returns_promise(cx, call) {
            continue;
        }
        // "promise" in JS, "task"/"coroutine" where the catalog says so.
        let noun = if cx.section.effect.is_empty() {
            "promise"
        } else {
            cx.section.effect.as_str()
        };
        let message = format!(
            "the {noun} of `{}` is neither awaited, returned nor observed: its failure goes unhandled",
            call.text
        );
        out.push(cx.finding("floating-promise", call.span, call.in_fn, message, ""));
    }
}

/// `when(...).then(...)`: a chain rooted in a plain call of a package's function that nothing
/// says returns a promise is a builder with a `then` method, not a promise chain.
fn built_by_library(cx: &RuleContext, calls: &[Call], last: &Call) -> bool {
    let mut root = last;
    let mut steps = 0;
    while let Some(r) = root.receiver_call {
        root = &calls[r];
        steps += 1;
        if steps > 64 {
            break;
        }
    }
    if std::ptr::eq(root, last) || root.text.contains('.') || root.text.contains("()") {
        return false;
    }
    let sources = cx.catalog.promise_sources(cx.family());
    // Only a function imported from a package: its canonical name carries the package.
    root.target.is_none()
        && !root.returns_promise
        && root
            .callee
            .as_deref()
            .is_some_and(|n| n != root.text && !n.starts_with('.') && !sources.is_match(n))
}

/// `p.then(a).then(b)` is caught when a `.catch` or a two-argument `.then` ends the chain
/// (a trailing `.finally` passes rejections through, so look behind it).
fn chain_is_caught(calls: &[Call], last: &Call) -> bool {
    let mut call = last;
    loop {
        match call.method() {
            "catch" => return true,
            "then" if call.arg_count >= 2 => return true,
            "finally" => match call.receiver_call {
                Some(r) => call = &calls[r],
                None => return false,
            },
            _ => return false,
        }
    }
}

fn returns_promise(cx: &RuleContext, call: &Call) -> bool {
    if let Some(t) = &call.target {
        if let Some((file, f)) = cx.project.resolve(cx.file_index, t) {
            let callee = &cx.project.files[file].functions[f];
            // A function whose whole body is try/catch settles its promise either way.
            return callee.returns_task && !callee.body_guarded;
        }
    }
    if call.returns_promise {
        return true;
    }
    call.callee
        .as_deref()
        .is_some_and(|n| cx.catalog.is_promise_source(cx.family(), n))
}

fn async_callbacks(cx: &RuleContext, out: &mut Vec<Finding>) {
    for (id, func) in cx.file.functions.iter().enumerate() {
        if func.async_void && func.role != Role::EventHandler {
            let message = format!(
                "`async void {}` cannot be awaited: an exception in it crashes the process",
                func.name.as_deref().unwrap_or("method")
            );
            out.push(cx.finding("async-void", func.head, Some(id), message, ""));
            continue;
        }
        if !func.is_async {
            continue;
        }
        let Some(sink) = &func.passed_to else {
            continue;
        };
        if !cx.section.callback_sinks.iter().any(|s| s == sink) {
            continue;
        }
        // An executor is always wrong; other callbacks only when an await can throw unhandled.
        let executor = sink.starts_with("new ");
        if !executor && !func.awaits_outside_try {
            continue;
        }
        let message = if executor {
            "async Promise executor: a rejection inside it is lost and the promise never settles"
                .to_string()
        } else {
            format!("async callback passed to `{sink}`: nothing awaits it, so its rejection goes unhandled")
        };
        out.push(cx.finding("async-callback", func.head, Some(id), message, ""));
    }
}

fn unprotected_handlers(cx: &RuleContext, out: &mut Vec<Finding>) {
    let package = cx.project.package(cx.file_index);
    for (id, func) in cx.file.functions.iter().enumerate() {
        let Role::Handler(h) = &func.role else {
            continue;
        };
        if !func.is_async || h.wrapped || !func.awaits_outside_try {
            continue;
        }
        if !cx.section.unsafe_async_frameworks.contains(&h.framework) {
            continue;
        }
        // Express 5 forwards rejected promises to the error handler itself.
        if h.framework == "express"
            && package
                .and_then(|p| p.major("express"))
                .is_some_and(|m| m >= 5)
        {
            continue;
        }
        if cx
            .section
            .async_error_packages
            .iter()
            .any(|p| cx.project.imported_anywhere(p))
        {
            continue;
        }
        let label = if h.route.is_empty() {
            func.name.clone().unwrap_or_else(|| "handler".into())
        } else {
            h.route.clone()
        };
        let message = format!(
            "async {} handler `{label}` awaits outside try/catch: a rejection never reaches the error handler and the request hangs",
            h.framework
        );
        out.push(cx.finding(
            "async-handler-unprotected",
            func.head,
            Some(id),
            message,
            "",
        ));
    }
}
