//! The five rules, written once over the model. Each reads model facts, the project's contexts
//! and its catalog section; none knows which language it looks at.

mod manual_validation;
mod missing_pooling;
mod sync_io;
mod sync_over_async;
mod unhandled_rejection;

use crate::catalog::{ApiSet, Catalogs, LangSection, RuleCatalog};
use crate::diagnostic::Finding;
use crate::model::{Call, Family, FileModel, FnId, Role, Span};
use crate::project::{FnContext, KnownModules, Project};

/// What a rule sees of one file.
pub struct RuleContext<'a> {
    pub project: &'a Project,
    pub file_index: usize,
    pub file: &'a FileModel,
    pub catalog: &'a RuleCatalog,
    pub section: &'a LangSection,
    pub apis: &'a ApiSet,
}

type Check = fn(&RuleContext, &mut Vec<Finding>);

const CHECKS: [(&str, Check); 5] = [
    ("sync-io", sync_io::check),
    ("sync-over-async", sync_over_async::check),
    ("missing-pooling", missing_pooling::check),
    ("unhandled-rejection", unhandled_rejection::check),
    ("manual-validation", manual_validation::check),
];

/// The name a call is looked up by in a catalog: `new pg.Client` for a construction.
pub fn api_name(call: &Call) -> Option<std::borrow::Cow<'_, str>> {
    let name = call.callee.as_deref()?;
    Some(if call.construct {
        std::borrow::Cow::Owned(format!("new {name}"))
    } else {
        std::borrow::Cow::Borrowed(name)
    })
}

/// Whether any enabled rule could report or read this call. Calls into the scanned code are
/// always kept (they make the call graph); the rest are dropped after lowering so that the
/// models of a whole repository stay small.
pub fn retains(
    call: &Call,
    family: Family,
    catalogs: &Catalogs,
    enabled: &dyn Fn(&str) -> bool,
) -> bool {
    if call.returns_promise
        || (call.target.is_some() && call.result == crate::model::Use::Discarded)
    {
        return true;
    }
    let name = api_name(call);
    let api = |id: &str| {
        enabled(id)
            && catalogs.rule(id).is_some_and(|r| {
                name.as_deref().is_some_and(|n| {
                    r.apis(family)
                        .lookup(n, call.first_arg.as_deref())
                        .is_some()
                })
            })
    };
    if api("sync-io") || api("sync-over-async") || api("missing-pooling") {
        return true;
    }
    if enabled("unhandled-rejection") {
        if let Some(r) = catalogs.rule("unhandled-rejection") {
            if unhandled_rejection::retains(call, r.promise_sources(family)) {
                return true;
            }
        }
    }
    enabled("manual-validation")
        && catalogs.rule("manual-validation").is_some_and(|r| {
            let v = r.validators(family);
            v.is_match(&call.text) || call.callee.as_deref().is_some_and(|n| v.is_match(n))
        })
}

/// Drop the calls no enabled rule needs, keeping the receivers of those kept (chains).
pub fn prune(
    model: &mut FileModel,
    catalogs: &Catalogs,
    enabled: &dyn Fn(&str) -> bool,
    known: &KnownModules,
) {
    let Some(language) = model.language else {
        return;
    };
    let family = language.family();
    let mut full: Vec<bool> = model
        .calls
        .iter()
        .map(|c| retains(c, family, catalogs, enabled))
        .collect();
    // A chain is read whole (`when(...).then(...)`): receivers of what is kept are kept too.
    // Receivers need not come before the calls on them: walk until stable.
    loop {
        let mut changed = false;
        for (i, c) in model.calls.iter().enumerate() {
            if full[i] {
                if let Some(r) = c.receiver_call {
                    if !full[r] {
                        full[r] = true;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    // Calls into the scanned code are call-graph edges even when no rule reads them.
    let keep: Vec<bool> = model
        .calls
        .iter()
        .zip(&full)
        .map(|(c, f)| {
            *f || c
                .target
                .as_ref()
                .is_some_and(|t| known.may_resolve(family, t))
        })
        .collect();
    let mut new_index = vec![usize::MAX; model.calls.len()];
    let mut next = 0;
    for (i, k) in keep.iter().enumerate() {
        if *k {
            new_index[i] = next;
            next += 1;
        }
    }
    let calls = std::mem::take(&mut model.calls);
    model.calls = calls
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep[*i])
        .map(|(i, mut c)| {
            c.receiver_call = c.receiver_call.map(|r| new_index[r]);
            if !full[i] {
                // An edge only: the names are not needed any more.
                c.text = String::new();
                c.callee = None;
                c.first_arg = None;
            }
            c
        })
        .collect();
    // The filtered calls reuse the original allocation (in-place collect): give it back.
    model.calls.shrink_to_fit();
    model.functions.shrink_to_fit();
    model.guards.shrink_to_fit();
    model.waits.shrink_to_fit();
    model.registrations.shrink_to_fit();
    model.imports.shrink_to_fit();
    model.exports.shrink_to_fit();
}

/// Run the enabled rules on one file of the project.
pub fn check_file(
    project: &Project,
    file_index: usize,
    catalogs: &Catalogs,
    enabled: &dyn Fn(&str) -> bool,
) -> Vec<Finding> {
    let file = &project.files[file_index];
    let Some(language) = file.language else {
        return Vec::new();
    };
    let family = language.family();
    let mut out = Vec::new();
    for (id, check) in CHECKS {
        if !enabled(id) {
            continue;
        }
        let Some(catalog) = catalogs.rule(id) else {
            continue;
        };
        if (file.is_ui && catalog.doc.skip_ui) || (file.is_test && catalog.doc.skip_tests) {
            continue;
        }
        let cx = RuleContext {
            project,
            file_index,
            file,
            catalog,
            section: catalog.section(family),
            apis: catalog.apis(family),
        };
        check(&cx, &mut out);
    }
    out
}

impl<'a> RuleContext<'a> {
    pub fn fn_context(&self, f: FnId) -> &FnContext {
        &self.project.contexts[self.file_index][f]
    }

    /// Whether code in `in_fn` counts for a rule whose section lists these contexts:
    /// `anywhere`, `not-startup`, `request-path`, `handler`, `async`, `async-callee`,
    /// `async-helper` (a sync function of the file that only async code calls, not handlers),
    /// `per-call` (like `not-startup`, but code on other threads counts too).
    pub fn in_context(&self, in_fn: Option<FnId>) -> bool {
        self.in_contexts(&self.section.contexts, in_fn)
    }

    /// Like [`in_context`](Self::in_context), for an API entry's own, narrower contexts.
    pub fn in_contexts(&self, contexts: &[String], in_fn: Option<FnId>) -> bool {
        let skip_tooling = self
            .section
            .skip_tooling
            .unwrap_or(self.catalog.doc.skip_tooling);
        if skip_tooling && self.file.is_tooling {
            return false;
        }
        if contexts.iter().any(|c| c == "anywhere") {
            return true;
        }
        let Some(f) = in_fn else { return false };
        let ctx = self.fn_context(f);
        // Code handed to another thread still runs once per call: only startup is exempt.
        if !ctx.startup && contexts.iter().any(|c| c == "per-call") {
            return true;
        }
        if ctx.startup || ctx.other_thread {
            return false;
        }
        contexts.iter().any(|c| match c.as_str() {
            "not-startup" => true,
            "request-path" => ctx.per_request,
            "handler" => self.is_handler(f),
            "async" => ctx.async_body,
            "async-callee" => ctx.async_callee,
            "async-helper" => ctx.async_helper,
            _ => false,
        })
    }

    pub fn is_handler(&self, f: FnId) -> bool {
        matches!(self.file.functions[f].role, Role::Handler(_))
    }

    /// The function's name for messages and the JSON context.
    pub fn function_name(&self, in_fn: Option<FnId>) -> Option<String> {
        let f = &self.file.functions[in_fn?];
        f.name.clone().or_else(|| {
            f.parent
                .and_then(|p| self.file.functions[p].name.clone())
                .map(|n| format!("callback in {n}"))
        })
    }

    /// The handler a function runs for: its label (`GET /users` or its name) and, when it is in
    /// this file, where its head is.
    pub fn handler_of(&self, in_fn: Option<FnId>) -> Option<(String, Option<Span>)> {
        let (file, f) = self.fn_context(in_fn?).via?;
        let func = &self.project.files[file].functions[f];
        let Role::Handler(h) = &func.role else {
            return None;
        };
        let label = if !h.route.is_empty() {
            h.route.clone()
        } else {
            func.name.clone().unwrap_or_else(|| "request".to_string())
        };
        let span = (file == self.file_index).then_some(func.head);
        Some((label, span))
    }

    /// "inside the GET /users handler", "inside async function `load`", for messages.
    pub fn where_phrase(&self, in_fn: Option<FnId>) -> String {
        if let Some((label, _)) = self.handler_of(in_fn) {
            return format!("on the request path of the `{label}` handler");
        }
        match self.function_name(in_fn) {
            Some(name) if in_fn.is_some_and(|f| self.fn_context(f).async_body) => {
                format!("inside async `{name}`")
            }
            Some(name) => format!("inside `{name}`"),
            None => "in this callback".to_string(),
        }
    }

    /// A finding with the function and handler context filled in.
    pub fn finding(
        &self,
        check: &str,
        span: Span,
        in_fn: Option<FnId>,
        message: String,
        hint: &str,
    ) -> Finding {
        let handler = self
            .handler_of(in_fn)
            .map(|(label, s)| (label, s.unwrap_or_default()));
        Finding {
            rule: rule_id(&self.catalog.doc.id),
            check: check.to_string(),
            span,
            message,
            hint: if !hint.is_empty() {
                hint.to_string()
            } else if let Some(h) = self.section.hints.get(check) {
                h.clone()
            } else {
                first_sentence(&self.catalog.doc.fix)
            },
            function: self.function_name(in_fn),
            handler,
        }
    }
}

/// The static id for a rule name from a catalog.
pub fn rule_id(id: &str) -> &'static str {
    crate::catalog::RULE_IDS
        .iter()
        .find(|r| **r == id)
        .copied()
        .unwrap_or("unknown")
}

impl RuleContext<'_> {
    pub fn family(&self) -> crate::model::Family {
        self.file
            .language
            .map_or(crate::model::Family::JavaScript, |l| l.family())
    }
}

/// The first sentence of a doc paragraph, on one line.
pub fn first_sentence(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(i) => flat[..=i].to_string(),
        None => flat,
    }
}
