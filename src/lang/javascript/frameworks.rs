//! What the Node.js frameworks make of functions: route registrations (Express, Koa, Fastify,
//! Hapi, restify, `http.createServer`), Next.js route files, NestJS controllers, startup callbacks.

use crate::lang::kind_of;
use std::path::Path;

use tree_sitter::Node;

use crate::lang::field;

use super::{handler_ref, last_segment, named_children, HandlerRef, Lowerer, PendingReg};
use crate::lang::{text, unquote};
use crate::model::{FnId, Handler, Registration, Role, Span, Target};

const VERBS: &[&str] = &[
    "get", "post", "put", "delete", "del", "patch", "all", "options", "head",
];
const NEST_VERBS: &[&str] = &[
    "Get", "Post", "Put", "Delete", "Patch", "All", "Options", "Head",
];
const NEXT_APP_VERBS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
/// Receivers whose `.get(url, fn)` is an HTTP client or a browser library, not a server.
const CLIENT_RECEIVERS: &[&str] = &["$", "jQuery", "axios", "superagent", "got", "ky", "request"];
/// Module imports that say which framework a file registers routes with, in priority order.
const FRAMEWORK_IMPORTS: &[(&str, &str)] = &[
    ("express", "express"),
    ("@nestjs/common", "nest"),
    ("fastify", "fastify"),
    ("koa", "koa"),
    ("@koa/router", "koa"),
    ("koa-router", "koa"),
    ("@hapi/hapi", "hapi"),
    ("hapi", "hapi"),
    ("restify", "restify"),
    ("next.server", "next"),
    ("next", "next"),
    ("http", "node-http"),
    ("https", "node-http"),
];

/// Imports that make a file a browser UI component.
const UI_LIBRARIES: &[&str] = &[
    "react",
    "react-dom",
    "react-router-dom",
    "vue",
    "svelte",
    "@angular/core",
    "preact",
    "solid-js",
    "@remix-run/react",
];

/// Roles a function has from where it stands: listen callbacks and plugins run once,
/// NestJS controller methods are handlers.
pub(super) fn function_role(l: &mut Lowerer, node: Node, id: FnId) {
    let src = l.src;
    if let Some(method) = l.model.functions[id].passed_to.as_deref() {
        // `fp(async (fastify, opts) => ...)`: a Fastify plugin, run once at registration.
        if matches!(method, "listen" | "register" | "fp" | "fastifyPlugin") {
            l.model.functions[id].role = crate::model::Role::Startup;
        }
    }
    if l.scopes.params(id).first().is_some_and(|p| p == "fastify") {
        l.model.functions[id].role = crate::model::Role::Startup;
    }
    if kind_of(node) != "method_definition" {
        return;
    }
    let decorators = decorators_of(node);
    for d in decorators {
        let t = text(d, src).trim_start_matches('@');
        let name = t.split('(').next().unwrap_or(t).trim();
        if NEST_VERBS.contains(&name) && class_is_controller(l, src) {
            let path = t
                .split_once('(')
                .map(|(_, rest)| unquote(rest.trim_end_matches(')').trim()).to_string())
                .unwrap_or_default();
            l.model.functions[id].role = Role::Handler(Handler {
                framework: "nest".into(),
                route: format!("{} /{}", name.to_uppercase(), path.trim_start_matches('/')),
                ..Handler::default()
            });
        }
    }
}

/// Decorators of a class member: children in some grammar versions, preceding siblings in others.
fn decorators_of(node: Node) -> Vec<Node> {
    let mut out: Vec<Node> = named_children(node)
        .filter(|c| kind_of(c) == "decorator")
        .collect();
    let mut prev = node.prev_named_sibling();
    while let Some(p) = prev.filter(|p| kind_of(p) == "decorator") {
        out.push(p);
        prev = p.prev_named_sibling();
    }
    out
}

/// Whether the class around the method being visited is a NestJS `@Controller()`.
fn class_is_controller(l: &Lowerer, src: &str) -> bool {
    let Some(class) = l.ancestor(1) else {
        return false;
    };
    let mut candidates = decorators_of(class);
    if let Some(export) = l.ancestor(2).filter(|p| kind_of(p) == "export_statement") {
        candidates.extend(named_children(export).filter(|c| kind_of(c) == "decorator"));
    }
    candidates.iter().any(|d| {
        text(*d, src)
            .trim_start_matches('@')
            .starts_with("Controller")
    })
}

/// A call that registers handlers: `app.get('/x', fn)`, `router.route('/x').post(fn)`,
/// `app.use(fn)`, `fastify.route({ handler })`, `server.route([{ handler }])`, `http.createServer(fn)`.
pub(super) fn registration(l: &mut Lowerer, node: Node, callee: Node, args: Option<Node>) {
    let src = l.src;
    let Some(args) = args else { return };
    let args: Vec<Node> = named_children(args)
        .filter(|a| kind_of(a) != "comment")
        .collect();
    if args.is_empty() {
        return;
    }
    let scope = l.current_fn();
    if kind_of(callee) != "member_expression" {
        return;
    }
    let method = field(callee, "property").map_or("", |p| text(p, src));
    let Some(receiver) = field(callee, "object") else {
        return;
    };
    let receiver_root = text(receiver, src).split('.').next().unwrap_or("");
    if CLIENT_RECEIVERS.contains(&receiver_root) {
        return;
    }
    let span = Span::new(node.start_byte(), node.end_byte());
    let push = |l: &mut Lowerer, route: String, handlers: &[Node], startup: bool| {
        let mut middleware = Vec::new();
        let mut validated = false;
        let mut found = Vec::new();
        for h in handlers {
            collect_handlers(*h, src, false, &mut found, &mut middleware, &mut validated);
        }
        for (r, wrapped) in found {
            l.pending_regs.push(PendingReg {
                scope,
                span,
                handler: r,
                route: route.clone(),
                wrapped,
                validated,
                middleware: middleware.clone(),
                startup,
                framework: None,
            });
        }
    };
    let receiver_call_path = (kind_of(receiver) == "call_expression")
        .then(|| {
            let f = field(receiver, "function")?;
            (last_segment(text(f, src)) == "route")
                .then(|| field(receiver, "arguments")?.named_child(0))
                .flatten()
        })
        .flatten();
    if VERBS.contains(&method) || l.cx.handlers.iter().any(|h| h == method) {
        // A team's own registration method (`[extend] handlers`) names no HTTP verb: the
        // route is its path alone.
        let verb = if method == "del" {
            "DELETE".to_string()
        } else if VERBS.contains(&method) {
            method.to_uppercase()
        } else {
            String::new()
        };
        if let Some(path) = receiver_call_path {
            push(
                l,
                format!("{verb} {}", unquote(text(path, src)))
                    .trim()
                    .to_string(),
                &args,
                false,
            );
        } else if is_route_path(args[0], src) && args.len() > 1 {
            push(
                l,
                format!("{verb} {}", unquote(text(args[0], src)))
                    .trim()
                    .to_string(),
                &args[1..],
                false,
            );
        } else if args.len() > 2 && args[0].kind() == "string" && is_route_path(args[1], src) {
            // Koa's named routes: `router.get('user', '/users/:id', handler)`.
            push(
                l,
                format!("{verb} {}", unquote(text(args[1], src)))
                    .trim()
                    .to_string(),
                &args[2..],
                false,
            );
        } else if args.len() > 1 && args[0].kind() == "object" {
            // restify: `server.get({ path: '/users/:id', version: '1.0.0' }, handler)`.
            if let Some(p) = object_value(args[0], "path", src).filter(|p| is_route_path(*p, src)) {
                push(
                    l,
                    format!("{verb} {}", unquote(text(p, src)))
                        .trim()
                        .to_string(),
                    &args[1..],
                    false,
                );
            }
        }
    } else if method == "use" {
        let (route, rest) = if is_route_path(args[0], src) {
            (format!("USE {}", unquote(text(args[0], src))), &args[1..])
        } else {
            ("middleware".to_string(), &args[..])
        };
        push(l, route, rest, false);
    } else if method == "route" {
        // Fastify / Hapi route objects: `{ method, url|path, handler, schema }`.
        for a in &args {
            let objects: Vec<Node> = if kind_of(a) == "array" {
                named_children(*a)
                    .filter(|o| kind_of(o) == "object")
                    .collect()
            } else if kind_of(a) == "object" {
                vec![*a]
            } else {
                vec![]
            };
            for o in objects {
                let verb = object_value(o, "method", src)
                    .map(|m| unquote(text(m, src)).to_uppercase())
                    .unwrap_or_default();
                let path = object_value(o, "url", src)
                    .or_else(|| object_value(o, "path", src))
                    .map(|p| unquote(text(p, src)).to_string())
                    .unwrap_or_default();
                push(l, format!("{verb} {path}").trim().to_string(), &[o], false);
            }
        }
    } else if method == "register" {
        // A Fastify plugin runs once, when it is registered.
        push(l, "plugin".to_string(), &args[..1], true);
    } else if method == "createServer" {
        let before = l.pending_regs.len();
        push(l, "request".to_string(), &args, false);
        // Node's own server, whatever else the file imports.
        for r in &mut l.pending_regs[before..] {
            r.framework = Some("node-http");
        }
    }
}

fn is_route_path(node: Node, src: &str) -> bool {
    match kind_of(node) {
        "string" | "template_string" => {
            let s = unquote(text(node, src));
            s.starts_with('/') || s == "*"
        }
        "regex" => true,
        "array" => named_children(node).any(|c| is_route_path(c, src)),
        _ => false,
    }
}

fn object_value<'t>(object: Node<'t>, key: &str, src: &str) -> Option<Node<'t>> {
    named_children(object).find_map(|p| {
        (kind_of(p) == "pair" && field(p, "key").is_some_and(|k| unquote(text(k, src)) == key))
            .then(|| field(p, "value"))
            .flatten()
    })
}

/// The handler functions among a registration's arguments, looking through arrays,
/// wrapper calls (`asyncHandler(fn)`) and route option objects.
fn collect_handlers(
    node: Node,
    src: &str,
    wrapped: bool,
    out: &mut Vec<(HandlerRef, bool)>,
    middleware: &mut Vec<String>,
    validated: &mut bool,
) {
    let mut stack = vec![(node, wrapped, 0u32)];
    while let Some((n, wrapped, depth)) = stack.pop() {
        if depth > 4 {
            continue;
        }
        match kind_of(n) {
            "function_expression" | "function" | "arrow_function" | "generator_function" => {
                out.push((HandlerRef::Node(n.id()), wrapped))
            }
            "identifier" | "member_expression" => out.push((handler_ref(n, src), wrapped)),
            "array" => stack.extend(named_children(n).map(|c| (c, wrapped, depth + 1))),
            "call_expression" => {
                // `controller.list.bind(controller)`: the method itself, not a wrapper.
                if let Some(bound) = field(n, "function")
                    .filter(|f| kind_of(f) == "member_expression")
                    .filter(|f| field(*f, "property").is_some_and(|p| text(p, src) == "bind"))
                    .and_then(|f| field(f, "object"))
                {
                    stack.push((bound, wrapped, depth + 1));
                    continue;
                }
                if let Some(f) = field(n, "function") {
                    middleware.push(super::scope::callee_text(f, src));
                }
                // A wrapper around a handler: `asyncHandler(fn)`, `catchAsync(fn)`.
                if let Some(a) = field(n, "arguments") {
                    for c in named_children(a) {
                        if matches!(
                            kind_of(c),
                            "function_expression"
                                | "function"
                                | "arrow_function"
                                | "identifier"
                                | "member_expression"
                        ) {
                            stack.push((c, true, depth + 1));
                        }
                    }
                }
            }
            "object" => {
                for p in named_children(n).filter(|p| kind_of(p) == "pair") {
                    let key = field(p, "key").map_or("", |k| unquote(text(k, src)));
                    let Some(v) = field(p, "value") else {
                        continue;
                    };
                    match key {
                        "handler" => stack.push((v, wrapped, depth + 1)),
                        "options" | "config" => stack.push((v, wrapped, depth + 1)),
                        "schema" | "validate" => *validated = true,
                        "preHandler" | "preValidation" | "onRequest" => {
                            stack.push((v, wrapped, depth + 1))
                        }
                        _ => {}
                    }
                }
                // `{ handler() { ... } }`
                for m in named_children(n).filter(|p| kind_of(p) == "method_definition") {
                    if field(m, "name").is_some_and(|k| text(k, src) == "handler") {
                        out.push((HandlerRef::Node(m.id()), wrapped));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Apply registrations, Next.js file conventions and handler shapes once the file is resolved.
pub(super) fn finish(l: &mut Lowerer, path: &Path) {
    let framework = FRAMEWORK_IMPORTS
        .iter()
        .find(|(m, _)| l.model.imports.iter().any(|i| i == m))
        .map(|(_, f)| f.to_string())
        .unwrap_or_default();
    let regs = std::mem::take(&mut l.pending_regs);
    for reg in regs {
        let target = match &reg.handler {
            HandlerRef::Node(_) => l.function_of(reg.scope, &reg.handler).map(Target::Local),
            HandlerRef::Name(root, members) => {
                l.scopes
                    .resolve(reg.scope, root, members, &l.model.functions)
                    .target
            }
        };
        let Some(target) = target else { continue };
        if reg.startup {
            if let Target::Local(f) = target {
                if l.model.functions[f].role == Role::Plain {
                    l.model.functions[f].role = Role::Startup;
                }
                continue;
            }
        }
        // The function that registers routes runs once, at registration.
        if let Some(f) = reg.scope {
            if l.model.functions[f].role == Role::Plain {
                l.model.functions[f].role = Role::Startup;
            }
        }
        let file_framework = reg.framework.unwrap_or(&framework);
        if let Target::Local(f) = target {
            if !matches!(l.model.functions[f].role, Role::Handler(_)) {
                l.model.functions[f].role = Role::Handler(Handler {
                    framework: framework_by_params(l.scopes.params(f))
                        .unwrap_or(file_framework)
                        .to_string(),
                    route: reg.route.clone(),
                    wrapped: reg.wrapped,
                    validated: reg.validated,
                    middleware: reg.middleware.clone(),
                });
            }
        }
        l.model.registrations.push(Registration {
            span: reg.span,
            framework: file_framework.to_string(),
            route: reg.route,
            target,
            wrapped: reg.wrapped,
            validated: reg.validated,
            middleware: reg.middleware,
            startup: reg.startup,
        });
    }
    next_routes(l, path);
    // Browser code: a component library, the scripts a server hands out (`public/`, `wwwroot/`,
    // Blazor's `*.razor.js`), or a file that drives the DOM through the browser's globals.
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    l.model.is_ui = l
        .model
        .imports
        .iter()
        .any(|m| UI_LIBRARIES.contains(&m.as_str()))
        || name.ends_with(".razor.js")
        || name.ends_with(".cshtml.js")
        || path.parent().into_iter().flat_map(|p| p.iter()).any(|c| {
            matches!(
                c.to_str(),
                Some("public" | "static" | "assets" | "frontend" | "browser" | "wwwroot")
            )
        })
        || l.model.calls.iter().any(|c| {
            c.callee.as_deref().is_some_and(|n| {
                ["document.", "window.", "localStorage.", "navigator."]
                    .iter()
                    .any(|g| n.starts_with(g))
            })
        });
    // A worker script (`parentPort`/`workerData` from `worker_threads`) runs off the main thread.
    let worker = ["parentPort", "workerData"].iter().any(|n| {
        matches!(
            l.scopes.lookup(None, n, &l.model.functions),
            Some(super::scope::Binding::Module { canonical, .. }) if canonical.starts_with("worker_threads")
        )
    });
    if worker {
        for func in l.model.functions.iter_mut().filter(|f| f.parent.is_none()) {
            func.runs = crate::model::Runs::OtherThread;
        }
    }
    for f in 0..l.model.functions.len() {
        if l.model.functions[f].role != Role::Plain {
            continue;
        }
        let params = l.scopes.params(f);
        // Known by shape only: who calls it (and whether that wraps it) is not known, so the
        // framework is only what the parameters say.
        let framework = framework_by_params(params).unwrap_or("").to_string();
        let shaped = matches!(
            params,
            [a, b, ..] if matches!(
                (a.as_str(), b.as_str()),
                ("req", "res") | ("request", "response") | ("request", "reply") | ("req", "reply")
                    | ("ctx", "next")
            )
        );
        if shaped {
            // Handed to a call (`asyncHandler(async (req, res) => ...)`): that call wraps it.
            let wrapped = l.model.functions[f].passed_to.is_some();
            l.model.functions[f].role = Role::Handler(Handler {
                framework: framework.clone(),
                wrapped,
                ..Handler::default()
            });
        }
    }
}

/// Next.js: `pages/api/**` default exports and `app/**/route.ts` verb exports are handlers.
fn next_routes(l: &mut Lowerer, path: &Path) {
    let parts: Vec<&str> = path.iter().filter_map(|p| p.to_str()).collect();
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let pages_api = parts.windows(2).position(|w| w == ["pages", "api"]);
    let app_route = stem == "route" && parts.contains(&"app");
    // A page's `getServerSideProps` runs on the server for every request.
    if parts.contains(&"pages") && pages_api.is_none() {
        for e in &l.model.exports {
            if e.name == "getServerSideProps" {
                l.model.functions[e.function].role = Role::Handler(Handler {
                    framework: "next".into(),
                    route: format!("getServerSideProps {stem}"),
                    ..Handler::default()
                });
            }
        }
    }
    if pages_api.is_none() && !app_route {
        return;
    }
    let route_of = |from: usize| -> String {
        let mut r: Vec<&str> = parts[from..parts.len() - 1].to_vec();
        if stem != "index" && stem != "route" {
            r.push(stem);
        }
        format!("/{}", r.join("/"))
    };
    for e in &l.model.exports {
        let (is_handler, route) = match pages_api {
            Some(i) if e.name == "default" => (true, route_of(i)),
            None if NEXT_APP_VERBS.contains(&e.name.as_str()) => {
                let i = parts.iter().position(|p| *p == "app").unwrap_or(0) + 1;
                (true, format!("{} {}", e.name, route_of(i)))
            }
            _ => (false, String::new()),
        };
        if is_handler {
            l.model.functions[e.function].role = Role::Handler(Handler {
                framework: "next".into(),
                route,
                ..Handler::default()
            });
        }
    }
}

/// The parameters say the framework where imports do not (a plugin module imports nothing):
/// `(request, reply)` is Fastify, `(request, h)` Hapi, `(ctx, next)` Koa.
fn framework_by_params(params: &[String]) -> Option<&'static str> {
    match params {
        [_, b, ..] if b == "reply" => Some("fastify"),
        [_, b, ..] if b == "h" => Some("hapi"),
        [a, ..] if a == "ctx" => Some("koa"),
        _ => None,
    }
}
