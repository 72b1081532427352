//! What the Python web frameworks make of functions: route decorators and registrations
//! (FastAPI, Starlette, Flask, Django/DRF, aiohttp, Sanic, Litestar, Quart), class-based views,
//! `Depends(...)` dependencies, startup hooks and app factories, hand-offs to threads.

use std::path::Path;

use super::scope::{Expr, Resolved, Root};
use super::{last_segment, Arg, CallArgs, Decorated, Lowerer};
use crate::model::{FnId, Target};

const VERBS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];
/// Decorator methods that register a route besides the HTTP verbs.
const ROUTE_METHODS: &[&str] = &[
    "route",
    "api_route",
    "websocket",
    "websocket_route",
    "view",
    "ws",
];
/// Methods of a class-based view that the framework calls per request.
pub(super) const VIEW_METHODS: &[&str] = &[
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "trace",
    "list",
    "create",
    "retrieve",
    "update",
    "partial_update",
    "destroy",
    "on_get",
    "on_post",
    "on_put",
    "on_patch",
    "on_delete",
    "dispatch_request",
];
/// Base classes of class-based views (besides names ending in `View`/`ViewSet`).
pub(super) const VIEW_BASES: &[&str] = &["HTTPEndpoint", "WebSocketEndpoint", "RequestHandler"];
/// `Resource` is a view class only in the REST frameworks that call it so.
pub(super) const RESOURCE_MODULES: &[&str] =
    &["flask_restful", "flask_restx", "flask_smorest", "falcon"];
/// Decorators that run a function per request around the handlers.
const MIDDLEWARE_DECORATORS: &[&str] = &[
    "middleware",
    "exception_handler",
    "errorhandler",
    "before_request",
    "after_request",
    "teardown_request",
    "teardown_appcontext",
    "on_request",
    "on_response",
];
/// Decorators and hooks that run once, before or after serving.
const STARTUP_HOOKS: &[&str] = &[
    "before_server_start",
    "after_server_start",
    "before_server_stop",
    "after_server_stop",
    "main_process_start",
    "main_process_stop",
    "main_process_ready",
    "reload_process_start",
    "before_first_request",
    "on_startup",
    "on_shutdown",
    "on_cleanup",
    "cleanup_ctx",
    "listener",
    "before_serving",
    "after_serving",
    "while_serving",
];
/// Command-line entry points: they run once, not per request.
const CLI_DECORATORS: &[&str] = &["command", "group", "callback"];
/// Functions that build the app: they run once.
pub(super) const STARTUP_NAMES: &[&str] = &[
    "main",
    "create_app",
    "make_app",
    "build_app",
    "create_application",
    "app_factory",
    "init_app",
    "setup_app",
    "get_application",
    "create_server",
];
/// Constructors of apps and routers: a function calling them is a factory that runs once.
const APP_CLASSES: &[&str] = &[
    "FastAPI",
    "Flask",
    "Starlette",
    "Application",
    "Sanic",
    "Litestar",
    "Quart",
    "APIRouter",
    "Blueprint",
    "RouteTableDef",
];
const FRAMEWORK_MODULES: &[(&str, &str)] = &[
    ("fastapi", "fastapi"),
    ("starlette", "starlette"),
    ("flask", "flask"),
    ("quart", "quart"),
    ("rest_framework", "drf"),
    ("django", "django"),
    ("aiohttp", "aiohttp"),
    ("sanic", "sanic"),
    ("litestar", "litestar"),
    ("tornado", "tornado"),
    ("falcon", "falcon"),
];
/// Calls that register routes or assemble the app: the function making them runs once.
const ASSEMBLY_METHODS: &[&str] = &[
    "include_router",
    "register_blueprint",
    "add_routes",
    "mount",
    "add_middleware",
    "add_exception_handler",
    "register_error_handler",
    "setup_routes",
];

/// `on_startup = [startup]`, `startup = on_boot`: a function assigned to a startup hook.
pub(super) fn hook_assignment(
    l: &mut Lowerer,
    left: tree_sitter::Node,
    right: Option<tree_sitter::Node>,
    scope: Option<FnId>,
) {
    let Some(right) = right else { return };
    let name = last_segment(crate::lang::text(left, l.src));
    if !(STARTUP_HOOKS.contains(&name) || matches!(name, "startup" | "shutdown" | "lifespan")) {
        return;
    }
    let arg = l.arg(right, scope);
    l.hooks.push(arg);
}

/// Whether the callable at this argument position of `method` runs on another thread.
pub(super) fn is_thread_handoff(method: &str, index: usize, keyword: Option<&str>) -> bool {
    match keyword {
        Some("target") => matches!(method, "Thread" | "Process" | "Timer"),
        Some("func" | "function" | "fn") => matches!(
            method,
            "to_thread" | "run_sync" | "run_in_threadpool" | "submit" | "run_in_executor"
        ),
        Some(_) => false,
        None => match method {
            "to_thread"
            | "run_sync"
            | "run_in_threadpool"
            | "sync_to_async"
            | "database_sync_to_async"
            | "submit" => index == 0,
            "run_in_executor" | "Timer" => index == 1,
            _ => false,
        },
    }
}

/// `router.get`, `app.post`, `bp.route`, `api_v1.get`: the receiver's name says it routes
/// (for routers imported from another module of the app).
fn routing_receiver(e: &Expr) -> bool {
    let receiver = match e.members.len() {
        0 => return false,
        1 => match &e.root {
            Root::Ident(n) => n.as_str(),
            _ => return false,
        },
        n => e.members[n - 2].as_str(),
    };
    let r = receiver.to_ascii_lowercase();
    ["router", "app", "bp", "blueprint", "api", "routes"]
        .iter()
        .any(|k| r == *k || r.starts_with(&format!("{k}_")) || r.ends_with(&format!("_{k}")))
}

fn framework_of(name: &str) -> Option<&'static str> {
    let root = name.split('.').next().unwrap_or(name);
    FRAMEWORK_MODULES
        .iter()
        .find(|(m, _)| *m == root)
        .map(|(_, f)| *f)
}

fn http_client(name: &str) -> bool {
    let root = name.split('.').next().unwrap_or(name);
    matches!(
        root,
        "requests" | "httpx" | "httpx2" | "urllib" | "urllib3" | "aiohttp" | "session" | "client"
    ) && !name.starts_with("aiohttp.web")
}

/// A handler found in the file.
pub(super) struct Found {
    pub(super) target: Target,
    pub(super) route: String,
    pub(super) framework: String,
    pub(super) middleware: Vec<String>,
}

#[derive(Default)]
pub(super) struct Decisions {
    pub(super) handlers: Vec<Found>,
    pub(super) startup: Vec<FnId>,
    /// Startup hooks by reference: local functions or functions of other files.
    pub(super) hooks: Vec<Target>,
    pub(super) registrants: Vec<FnId>,
    pub(super) threads: Vec<FnId>,
    /// `@sync_to_async def f`: every call of `f` runs it on a thread.
    pub(super) thread_decorated: Vec<FnId>,
    pub(super) view_classes: Vec<(usize, String)>,
    pub(super) middleware: Vec<(FnId, String)>,
}

pub(super) fn finish(l: &mut Lowerer, path: &Path) {
    let file_framework = l
        .model
        .imports
        .iter()
        .find_map(|i| framework_of(i))
        .unwrap_or("")
        .to_string();
    let mut d = Decisions::default();
    decorators(l, &file_framework, &mut d);
    calls(l, &file_framework, &mut d);
    for a in &l.hooks {
        collect_functions(l, a, &mut d.hooks);
    }
    super::roles::apply(l, path, &file_framework, d);
}

pub(super) fn full_name(r: &Resolved, e: &Expr) -> String {
    if let Some(n) = &r.name {
        return n.clone();
    }
    let mut s = match &e.root {
        Root::Ident(n) => n.clone(),
        Root::Call(_) => "()".to_string(),
        Root::Other => String::new(),
    };
    for m in &e.members {
        s.push('.');
        s.push_str(m);
    }
    s
}

fn decorators(l: &Lowerer, file_framework: &str, d: &mut Decisions) {
    let view = l.view();
    let cli_file = l.model.imports.iter().any(|i| {
        let root = i.split('.').next().unwrap_or("");
        matches!(
            root,
            "click" | "typer" | "cyclopts" | "fire" | "flask_script"
        ) || i.ends_with(".cli")
    });
    for dec in &l.decorators {
        let r = view.resolve(&dec.expr);
        let name = full_name(&r, &dec.expr);
        let last = last_segment(&name).to_string();
        let args: Option<&CallArgs> = dec
            .call
            .and_then(|n| l.node_call.get(&n))
            .and_then(|&c| l.call_args.get(c));
        let has_receiver = !dec.expr.members.is_empty();
        let framework = framework_of(&name).unwrap_or(file_framework).to_string();
        let route_of = |verb: &str| -> String {
            let path = args.and_then(|a| a.first_str()).unwrap_or("");
            let verb = if matches!(
                verb,
                "route" | "api_route" | "action" | "api_view" | "require_http_methods"
            ) {
                let listed = args.and_then(|a| {
                    a.keyword("methods")
                        .or_else(|| a.positional.iter().find(|p| matches!(p, Arg::List(_))))
                });
                match listed {
                    Some(Arg::List(items)) => items
                        .iter()
                        .find_map(|i| match i {
                            Arg::Str(s) => Some(s.to_uppercase()),
                            _ => None,
                        })
                        .unwrap_or_else(|| "GET".into()),
                    _ => "GET".into(),
                }
            } else {
                verb.trim_start_matches("require_").to_uppercase()
            };
            format!("{verb} {path}").trim().to_string()
        };
        let in_class = matches!(dec.target, Decorated::Function(f) if l.fn_class.contains_key(&f));
        // Route decorators: `@app.get("/x")`, `@bp.route("/x", methods=[...])`, `@routes.view`,
        // Litestar's `@get("/x")`, DRF's `@api_view`, Django's `@require_POST`, `@action`.
        let extended = l.extra_handlers.iter().any(|h| *h == last || *h == name);
        let is_route = extended
            || if has_receiver {
                (VERBS.contains(&last.as_str()) || ROUTE_METHODS.contains(&last.as_str()))
                    && !http_client(&name)
                    && args.is_some_and(|a| {
                        a.first_str().is_some()
                            || a.positional.is_empty()
                            || a.keyword("path").is_some()
                    })
                    && (framework_of(&name).is_some()
                        || !file_framework.is_empty()
                        || args.is_some_and(|a| a.first_str().is_some_and(|p| p.starts_with('/')))
                        || routing_receiver(&dec.expr))
            } else {
                (name.starts_with("litestar.")
                    && (VERBS.contains(&last.as_str()) || last == "route"))
                    || matches!(
                        last.as_str(),
                        "api_view"
                            | "require_POST"
                            | "require_GET"
                            | "require_safe"
                            | "require_http_methods"
                    )
                    || (last == "action" && in_class && framework_of(&name) != Some("fastapi"))
            };
        let is_middleware = has_receiver && MIDDLEWARE_DECORATORS.contains(&last.as_str());
        let is_startup = STARTUP_HOOKS.contains(&last.as_str())
            || (last == "on_event"
                && args
                    .and_then(|a| a.first_str())
                    .is_some_and(|s| s == "startup" || s == "shutdown"))
            || (CLI_DECORATORS.contains(&last.as_str()) && (cli_file || name.contains("cli.")))
            // Test fixtures set up and tear down around tests: never on a request path.
            || (last == "fixture" && (name.starts_with("pytest") || name == "fixture"));
        let is_thread = matches!(last.as_str(), "sync_to_async" | "database_sync_to_async");
        match dec.target {
            Decorated::Function(f) => {
                if is_route || is_middleware {
                    let route = if is_route {
                        route_of(&last)
                    } else {
                        String::new()
                    };
                    d.handlers.push(Found {
                        target: Target::Local(f),
                        route,
                        framework: framework.clone(),
                        middleware: Vec::new(),
                    });
                    if let Some(p) = l.model.functions[f].parent {
                        d.registrants.push(p);
                    }
                } else if is_startup {
                    d.startup.push(f);
                } else if is_thread {
                    d.thread_decorated.push(f);
                }
                d.middleware.push((f, name.clone()));
            }
            Decorated::Class(c) => {
                if is_route {
                    d.view_classes.push((c, route_of("")));
                }
            }
        }
    }
}

fn calls(l: &Lowerer, file_framework: &str, d: &mut Decisions) {
    let view = l.view();
    for (id, call) in l.model.calls.iter().enumerate() {
        let Some(args) = l.call_args.get(id) else {
            continue;
        };
        let name = call.callee.clone().unwrap_or_else(|| call.text.clone());
        let method = call.method().to_string();
        let framework = framework_of(&name).unwrap_or(file_framework).to_string();
        let mut handler_args: Vec<&Arg> = Vec::new();
        let mut route = String::new();
        match method.as_str() {
            "Depends" | "Security" => {
                if let Some(a) = args.positional.first().or(args.keyword("dependency")) {
                    handler_args.push(a);
                    route = "dependency".into();
                }
            }
            "add_api_route"
            | "add_api_websocket_route"
            | "add_websocket_route"
            | "add_route"
            | "add_url_rule"
            | "add_get"
            | "add_post"
            | "add_put"
            | "add_patch"
            | "add_delete"
            | "add_head"
            | "add_options"
            | "add_view"
            | "add_websocket" => {
                for k in ["endpoint", "view_func", "handler", "view"] {
                    if let Some(a) = args.keyword(k) {
                        handler_args.push(a);
                    }
                }
                if handler_args.is_empty() {
                    handler_args.extend(
                        args.positional
                            .iter()
                            .filter(|a| matches!(a, Arg::Ref(_) | Arg::Func(_))),
                    );
                }
                let verb = method
                    .strip_prefix("add_")
                    .filter(|v| VERBS.contains(v))
                    .map(str::to_uppercase)
                    .unwrap_or_default();
                route = format!("{verb} {}", args.first_str().unwrap_or(""))
                    .trim()
                    .into();
            }
            "Route" | "WebSocketRoute" | "APIRoute" | "APIWebSocketRoute" => {
                if let Some(a) = args.positional.get(1).or(args.keyword("endpoint")) {
                    handler_args.push(a);
                    route = args.first_str().unwrap_or("").to_string();
                }
            }
            "path" | "re_path" | "url" if name.starts_with("django.") => {
                if let Some(a) = args.positional.get(1).or(args.keyword("view")) {
                    handler_args.push(a);
                    route = args.first_str().unwrap_or("").to_string();
                }
            }
            m if (VERBS.contains(&m) || m == "route" || m == "view")
                && name.starts_with("aiohttp.web.") =>
            {
                let index = if m == "route" { 2 } else { 1 };
                if let Some(a) = args.positional.get(index).or(args.keyword("handler")) {
                    handler_args.push(a);
                    route = format!("{} {}", m.to_uppercase(), args.first_str().unwrap_or(""));
                }
            }
            "as_view" => {
                if let Some(c) = receiver_class(l, id) {
                    d.view_classes.push((c, String::new()));
                }
            }
            "register" if call.text.to_ascii_lowercase().contains("router") => {
                if let Some(a) = args.positional.get(1) {
                    handler_args.push(a);
                }
            }
            _ => {}
        }
        let mut registered = false;
        for a in handler_args {
            match a {
                Arg::Func(_) | Arg::Ref(_) => {
                    // `Depends(Settings)` calls the class; a route given a class serves its methods.
                    if let Some(c) = class_of(l, a).filter(|_| route != "dependency") {
                        d.view_classes.push((c, route.clone()));
                        registered = true;
                        continue;
                    }
                    let target = match a {
                        Arg::Func(_) => l.function_of(a).map(Target::Local),
                        Arg::Ref(e) => view.resolve(e).target,
                        _ => None,
                    };
                    if let Some(target) = target {
                        registered = true;
                        d.handlers.push(Found {
                            target,
                            route: route.clone(),
                            framework: framework.clone(),
                            middleware: Vec::new(),
                        });
                    }
                }
                _ => {}
            }
        }
        if registered && route != "dependency" {
            if let Some(f) = call.in_fn {
                d.registrants.push(f);
            }
        }
        // Startup hooks: `lifespan=`, `on_startup=[...]`, `app.on_startup.append(f)`,
        // `add_event_handler("startup", f)`, Sanic listeners in call form.
        for (k, a) in &args.keywords {
            if matches!(
                k.as_str(),
                "lifespan" | "on_startup" | "on_shutdown" | "on_cleanup" | "startup" | "shutdown"
            ) {
                collect_functions(l, a, &mut d.hooks);
            }
        }
        let receiver_last = call
            .text
            .rsplit('.')
            .nth(1)
            .unwrap_or("")
            .trim_end_matches("()");
        if matches!(method.as_str(), "append" | "add" | "extend" | "insert")
            && STARTUP_HOOKS.contains(&receiver_last)
        {
            for a in &args.positional {
                collect_functions(l, a, &mut d.hooks);
            }
        }
        if method == "add_event_handler" {
            if let Some(a) = args.positional.get(1) {
                collect_functions(l, a, &mut d.hooks);
            }
        }
        if STARTUP_HOOKS.contains(&method.as_str()) || method == "register_listener" {
            for a in &args.positional {
                collect_functions(l, a, &mut d.hooks);
            }
        }
        // App factories and route assembly run once.
        let app_class = APP_CLASSES.contains(&method.as_str()) && framework_of(&name).is_some();
        if app_class || ASSEMBLY_METHODS.contains(&method.as_str()) {
            if let Some(f) = call.in_fn {
                d.registrants.push(f);
            }
        }
        // Functions handed to another thread by name.
        for (i, a) in args.positional.iter().enumerate() {
            if is_thread_handoff(&method, i, None) {
                if let Some(f) = l.function_of(a) {
                    d.threads.push(f);
                }
            }
        }
        for (k, a) in &args.keywords {
            if is_thread_handoff(&method, usize::MAX, Some(k)) {
                if let Some(f) = l.function_of(a) {
                    d.threads.push(f);
                }
            }
        }
    }
}

/// The class of the file an argument names (`Clip` in `Route("/clips", Clip)`), or that
/// `Cls.as_view()` is called on.
fn class_of(l: &Lowerer, a: &Arg) -> Option<usize> {
    let Arg::Ref(e) = a else { return None };
    let Root::Ident(n) = &e.root else { return None };
    if !e.members.is_empty() {
        return None;
    }
    match l.scopes.lookup(e.scope, n, &l.model.functions) {
        Some(super::scope::Binding::Class(c)) => Some(*c),
        _ => None,
    }
}

fn receiver_class(l: &Lowerer, call: usize) -> Option<usize> {
    let e = l.callees.get(call)?;
    let (_, receiver) = e.members.split_last()?;
    let r = Expr {
        scope: e.scope,
        root: e.root.clone(),
        members: receiver.to_vec(),
        called: false,
        annotation: false,
    };
    class_of(l, &Arg::Ref(r))
}

fn collect_functions(l: &Lowerer, a: &Arg, out: &mut Vec<Target>) {
    match a {
        Arg::List(items) => {
            for i in items {
                collect_functions(l, i, out);
            }
        }
        Arg::Func(_) => {
            if let Some(f) = l.function_of(a) {
                out.push(Target::Local(f));
            }
        }
        Arg::Ref(e) => {
            if let Some(t) = l.view().resolve(e).target {
                out.push(t);
            }
        }
        _ => {}
    }
}
