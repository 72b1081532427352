//! Roles from what the file shows as a whole: class-based views, Django function views,
//! startup code (hooks, factories, entry points, test modules), code handed to threads.

use std::collections::HashSet;
use std::path::Path;

use super::frameworks::{
    full_name, Decisions, Found, RESOURCE_MODULES, STARTUP_NAMES, VIEW_BASES, VIEW_METHODS,
};
use super::scope::Type;
use super::{last_segment, Lowerer};
use crate::model::{FnId, Handler, Registration, Role, Runs, Target};

/// `test_*.py`, `*_test.py`, `conftest.py`, or a module under a `tests`/`test` directory.
fn is_test_module(path: &Path) -> bool {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem == "conftest"
        || path
            .parent()
            .into_iter()
            .flat_map(|p| p.iter())
            .filter_map(|c| c.to_str())
            .any(|c| matches!(c, "tests" | "test" | "testing"))
}

fn is_view_base(name: &str) -> bool {
    let last = last_segment(name);
    last.ends_with("View")
        || last.ends_with("ViewSet")
        || last.ends_with("APIView")
        || VIEW_BASES.contains(&last)
        || (last.ends_with("Resource") && RESOURCE_MODULES.iter().any(|m| name.starts_with(m)))
}

pub(super) fn apply(l: &mut Lowerer, path: &Path, file_framework: &str, d: Decisions) {
    // Class-based views: registered, decorated, or deriving from a framework view class.
    let view = l.view();
    let mut views: Vec<Option<String>> = vec![None; l.classes.len()];
    for (c, route) in &d.view_classes {
        views[*c] = Some(route.clone());
    }
    let base_names: Vec<Vec<String>> = l
        .classes
        .iter()
        .map(|c| {
            c.bases
                .iter()
                .map(|b| {
                    let r = view.resolve(b);
                    full_name(&r, b)
                })
                .collect()
        })
        .collect();
    let base_classes: Vec<Vec<usize>> = l
        .classes
        .iter()
        .map(|c| {
            c.bases
                .iter()
                .filter_map(|b| match view.resolve(b).result {
                    Some(Type::Class(bc)) => Some(bc),
                    _ => None,
                })
                .collect()
        })
        .collect();
    for (c, names) in base_names.iter().enumerate() {
        if views[c].is_none() && names.iter().any(|n| is_view_base(n)) {
            views[c] = Some(String::new());
        }
    }
    for _ in 0..4 {
        for c in 0..l.classes.len() {
            if views[c].is_none() && base_classes[c].iter().any(|&b| views[b].is_some()) {
                views[c] = Some(String::new());
            }
        }
    }
    let mut found = d.handlers;
    for (c, route) in views.iter().enumerate() {
        let Some(route) = route else { continue };
        for &m in &l.classes[c].methods {
            let Some(name) = l.model.functions[m].name.as_deref() else {
                continue;
            };
            if VIEW_METHODS.contains(&name) {
                let verb = name.trim_start_matches("on_").to_uppercase();
                found.push(Found {
                    target: Target::Local(m),
                    route: format!("{verb} {route}").trim().to_string(),
                    framework: file_framework.to_string(),
                    middleware: Vec::new(),
                });
            }
        }
    }
    // Django function views: module-level functions of a views module taking `request`.
    let views_module = path
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s == "views" || s.ends_with("_views") || s.starts_with("views_"))
        || path
            .parent()
            .and_then(|p| p.file_name())
            .is_some_and(|n| n == "views");
    let django = l
        .model
        .imports
        .iter()
        .any(|i| i.starts_with("django") || i.starts_with("rest_framework"));
    if views_module && django {
        for (id, f) in l.model.functions.iter().enumerate() {
            let is_view = f.parent.is_none()
                && !l.fn_class.contains_key(&id)
                && f.name.as_deref().is_some_and(|n| !n.starts_with('_'))
                && l.scopes
                    .params
                    .get(&id)
                    .and_then(|p| p.first())
                    .is_some_and(|p| p == "request");
            if is_view {
                found.push(Found {
                    target: Target::Local(id),
                    route: String::new(),
                    framework: "django".into(),
                    middleware: Vec::new(),
                });
            }
        }
    }
    // Decorator names serve as the handler's middleware (`@use_args(...)`, `@validate`).
    for h in &mut found {
        if let Target::Local(f) = h.target {
            h.middleware = d
                .middleware
                .iter()
                .filter(|(g, _)| *g == f)
                .map(|(_, n)| n.clone())
                .collect();
        }
    }
    for h in found {
        match h.target {
            Target::Local(f) => {
                let role = &mut l.model.functions[f].role;
                match role {
                    Role::Handler(existing) => existing.middleware.extend(h.middleware),
                    _ => {
                        *role = Role::Handler(Handler {
                            framework: h.framework,
                            route: h.route,
                            wrapped: false,
                            validated: false,
                            middleware: h.middleware,
                        })
                    }
                }
            }
            Target::Module { .. } | Target::File { .. } => {
                l.model.registrations.push(Registration {
                    span: Default::default(),
                    framework: h.framework,
                    route: h.route,
                    target: h.target,
                    wrapped: false,
                    validated: false,
                    middleware: h.middleware,
                    startup: false,
                })
            }
        }
    }
    // Startup: hooks, factories, command-line entry points, Django `AppConfig.ready`.
    let mut startup: HashSet<FnId> = d.startup.into_iter().collect();
    for t in d.hooks {
        match t {
            Target::Local(f) => {
                startup.insert(f);
            }
            other => l.model.registrations.push(Registration {
                span: Default::default(),
                framework: file_framework.to_string(),
                route: String::new(),
                target: other,
                wrapped: false,
                validated: false,
                middleware: Vec::new(),
                startup: true,
            }),
        }
    }
    startup.extend(d.registrants);
    for (id, f) in l.model.functions.iter().enumerate() {
        let Some(name) = f.name.as_deref() else {
            continue;
        };
        let method_of = l.fn_class.get(&id).map(|&c| &base_names[c]);
        let by_name = match method_of {
            None => f.parent.is_none() && STARTUP_NAMES.contains(&name),
            Some(bases) => {
                // Constructors run when the object is built (as the JS front-end's do): a
                // client kept on `self` lives as long as the object.
                matches!(name, "__init__" | "__post_init__")
                    || (name == "ready" && bases.iter().any(|b| b.ends_with("AppConfig")))
                    || (name == "handle" && bases.iter().any(|b| b.ends_with("BaseCommand")))
            }
        };
        if by_name {
            startup.insert(id);
        }
    }
    for f in startup {
        if l.model.functions[f].role == Role::Plain {
            l.model.functions[f].role = Role::Startup;
        }
    }
    // Test modules never serve a request, even the handlers of the apps they build to test.
    if is_test_module(path) {
        for f in &mut l.model.functions {
            f.role = Role::Startup;
        }
    }
    // A function handed to a thread by name runs there, unless the file also calls it directly.
    let called: HashSet<FnId> = l
        .model
        .calls
        .iter()
        .filter_map(|c| match c.target {
            Some(Target::Local(f)) => Some(f),
            _ => None,
        })
        .collect();
    for f in d.thread_decorated {
        l.model.functions[f].runs = Runs::OtherThread;
    }
    for f in d.threads {
        if !called.contains(&f) && !matches!(l.model.functions[f].role, Role::Handler(_)) {
            l.model.functions[f].runs = Runs::OtherThread;
        }
    }
}
