//! ASP.NET Core shapes: which methods the framework calls per request (controller actions, Razor
//! Pages handlers, middleware, SignalR hubs, gRPC services, minimal-API delegates) and which run
//! once at startup (`Main`, `ConfigureServices`, service-registration extensions).

use crate::lang::kind_of;
use tree_sitter::Node;

use super::syntax::{split_callee, strip};
use super::types::{attribute_arg, attribute_names, named_children, simple_name};
use super::{Lowerer, PendingReg};
use crate::lang::{field, text, unquote};
use crate::model::{Handler, Registration, Role, Span, Target};

/// Parameter types that mark a method as composition-root code that runs once.
const STARTUP_PARAMETER_TYPES: &[&str] = &[
    "IServiceCollection",
    "IApplicationBuilder",
    "WebApplicationBuilder",
    "WebApplication",
    "IEndpointRouteBuilder",
    "IHostBuilder",
    "IWebHostBuilder",
    "IHostApplicationBuilder",
    "RouteGroupBuilder",
    "ModelBuilder",
    "IMvcBuilder",
    "AuthenticationBuilder",
];

const STARTUP_METHODS: &[&str] = &[
    "ConfigureServices",
    "ConfigureContainer",
    "CreateHostBuilder",
    "CreateWebHostBuilder",
    "OnModelCreating",
    "OnConfiguring",
    "ConfigureConventions",
];

fn handler(framework: &str, route: String) -> Role {
    Role::Handler(Handler {
        framework: framework.to_string(),
        route,
        ..Handler::default()
    })
}

/// The role of a method by its class and signature.
pub(super) fn method_role(
    l: &Lowerer,
    node: Node,
    name: Option<&str>,
    class: Option<usize>,
    modifiers: &[&str],
) -> Option<Role> {
    let src = l.src;
    let kind = kind_of(node);
    let is_static = modifiers.contains(&"static");
    if kind == "constructor_declaration" {
        // Services are built by DI, most once; controllers, pages and hubs per request.
        let per_request = class.is_some_and(|c| class_kind(l, c).is_some());
        return (is_static || !per_request).then_some(Role::Startup);
    }
    if kind != "method_declaration" {
        return None;
    }
    let name = name?;
    let params: Vec<(String, String)> = node
        .child_by_field_name("parameters")
        .map(|ps| {
            named_children(ps)
                .filter(|p| kind_of(p) == "parameter")
                .map(|p| {
                    (
                        field(p, "type").map_or(String::new(), |t| simple_name(text(t, src))),
                        field(p, "name").map_or(String::new(), |n| text(n, src).to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if (name == "Main" && is_static)
        || STARTUP_METHODS.contains(&name)
        || params
            .iter()
            .any(|(t, _)| STARTUP_PARAMETER_TYPES.contains(&t.as_str()))
    {
        return Some(Role::Startup);
    }
    // Test methods serve no request: like startup, nothing waits on them but the test runner.
    let method_attrs: Vec<String> = named_children(node)
        .filter(|c| kind_of(c) == "attribute_list")
        .flat_map(|a| attribute_names(a, src))
        .collect();
    if method_attrs.iter().any(|a| {
        matches!(
            a.as_str(),
            "Fact"
                | "Theory"
                | "Test"
                | "TestMethod"
                | "DataTestMethod"
                | "TestCase"
                | "TestCaseSource"
        ) || a.ends_with("AutoData")
    }) {
        return Some(Role::Startup);
    }
    if matches!(name, "Invoke" | "InvokeAsync")
        && params.first().is_some_and(|(t, _)| t == "HttpContext")
    {
        return Some(handler("aspnet-middleware", String::new()));
    }
    let info = &l.decls.classes[class?];
    let public = modifiers.contains(&"public");
    if !public || is_static {
        return None;
    }
    let attrs: Vec<String> = named_children(node)
        .filter(|c| kind_of(c) == "attribute_list")
        .flat_map(|a| attribute_names(a, src))
        .collect();
    match class_kind(l, class?)? {
        ClassKind::Controller => {
            if attrs.iter().any(|a| a == "NonAction") || modifiers.contains(&"override") {
                return None;
            }
            Some(handler("aspnet-mvc", action_route(l, node, info, name)))
        }
        ClassKind::Page => ["OnGet", "OnPost", "OnPut", "OnDelete", "OnPatch"]
            .iter()
            .find(|v| name.starts_with(*v))
            .map(|v| {
                handler(
                    "razor-pages",
                    format!("{} {}", &v[2..].to_uppercase(), name),
                )
            }),
        ClassKind::Hub => Some(handler("signalr", format!("hub {}.{name}", info.name))),
        ClassKind::Grpc => modifiers
            .contains(&"override")
            .then(|| handler("grpc", format!("rpc {}.{name}", info.name))),
        ClassKind::Endpoint => matches!(name, "HandleAsync" | "ExecuteAsync")
            .then(|| handler("fastendpoints", info.name.clone())),
    }
}

/// Classes whose methods the framework calls per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClassKind {
    Controller,
    Page,
    Hub,
    Grpc,
    /// FastEndpoints: `class X : Endpoint<Req, Res>` with `HandleAsync`.
    Endpoint,
}

pub(super) fn class_kind(l: &Lowerer, class: usize) -> Option<ClassKind> {
    let info = &l.decls.classes[class];
    let bases: Vec<String> = info.base_names().collect();
    let is_controller = bases.iter().any(|b| {
        b == "Controller"
            || b == "ControllerBase"
            || b.ends_with("Controller")
            || b.ends_with("ControllerBase")
    }) || info
        .attrs
        .iter()
        .any(|a| a == "ApiController" || a == "Controller")
        || (info.name.ends_with("Controller") && (!bases.is_empty() || info.route.is_some()));
    if is_controller {
        return Some(ClassKind::Controller);
    }
    if bases.iter().any(|b| b.ends_with("PageModel"))
        || l.path.to_string_lossy().ends_with(".cshtml.cs")
    {
        return Some(ClassKind::Page);
    }
    if bases
        .iter()
        .any(|b| b == "Hub" || (b.ends_with("Hub") && info.name.ends_with("Hub")))
    {
        return Some(ClassKind::Hub);
    }
    let grpc = info.bases.iter().any(|b| {
        let b = b.split('<').next().unwrap_or(b);
        b.contains('.') && b.ends_with("Base")
    });
    if grpc {
        return Some(ClassKind::Grpc);
    }
    if bases.iter().any(|b| b.starts_with("Endpoint")) {
        return Some(ClassKind::Endpoint);
    }
    None
}

/// `GET api/quotes/{zone}` from `[Route]` on the class and `[HttpGet("{zone}")]` on the action.
fn action_route(l: &Lowerer, node: Node, info: &super::types::ClassInfo, name: &str) -> String {
    let src = l.src;
    let mut verb = String::new();
    let mut template: Option<String> = None;
    for list in named_children(node).filter(|c| kind_of(c) == "attribute_list") {
        for a in attribute_names(list, src) {
            if let Some(v) = a.strip_prefix("Http") {
                verb = v.to_uppercase();
                if template.is_none() {
                    template = attribute_arg(list, &a, src);
                }
            } else if a == "Route" && template.is_none() {
                template = attribute_arg(list, "Route", src);
            }
        }
    }
    if verb.is_empty() && template.is_none() {
        return format!("{}.{name}", info.name);
    }
    let controller = info.name.strip_suffix("Controller").unwrap_or(&info.name);
    let mut path = info.route.clone().unwrap_or_default();
    if let Some(t) = template {
        if t.starts_with('/') || t.starts_with("~/") {
            path = t.trim_start_matches('~').to_string();
        } else if !t.is_empty() {
            if !path.is_empty() && !path.ends_with('/') {
                path.push('/');
            }
            path.push_str(&t);
        }
    }
    let path = path
        .replace("[controller]", &controller.to_lowercase())
        .replace("[action]", name);
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    if verb.is_empty() {
        path
    } else {
        format!("{verb} {path}")
    }
}

/// `app.MapGroup("/admin")` or `group.MapGroup("/v1")`: the route prefix.
pub(super) fn group_prefix(l: &Lowerer, value: Node) -> Option<String> {
    group_prefix_at(l, value, 0)
}

/// Chains of configuration calls can be long: follow them this far.
fn group_prefix_at(l: &Lowerer, value: Node, depth: u32) -> Option<String> {
    if depth > 16 {
        return None;
    }
    let value = strip(value);
    if kind_of(value) != "invocation_expression" {
        return None;
    }
    let function = field(value, "function")?;
    let (receiver, method, _) = split_callee(function, l.src);
    if method != "MapGroup" {
        return None;
    }
    let route = first_string(value, l.src).unwrap_or_default();
    Some(format!(
        "{}{}",
        receiver_prefix(l, receiver, depth + 1),
        route
    ))
}

fn receiver_prefix(l: &Lowerer, receiver: Option<Node>, depth: u32) -> String {
    if depth > 16 {
        return String::new();
    }
    let Some(r) = receiver.map(strip) else {
        return String::new();
    };
    match kind_of(r) {
        "identifier" => l.groups.get(text(r, l.src)).cloned().unwrap_or_default(),
        // `app.MapGroup("/api").MapGet(...)`, or a chain of configuration calls on a group.
        "invocation_expression" => group_prefix_at(l, r, depth + 1).unwrap_or_else(|| {
            field(r, "function")
                .map(|f| split_callee(f, l.src).0)
                .map_or(String::new(), |inner| receiver_prefix(l, inner, depth + 1))
        }),
        _ => String::new(),
    }
}

fn first_string(call: Node, src: &str) -> Option<String> {
    let args = field(call, "arguments")?;
    let first = named_children(args).find(|c| kind_of(c) == "argument")?;
    let e = first.named_child(first.named_child_count().checked_sub(1)?)?;
    kind_of(e)
        .contains("string")
        .then(|| unquote(text(e, src)).to_string())
}

/// `app.MapGet("/x", handler)`, `group.MapPost(...)`, `app.Use(async (ctx, next) => ...)`.
pub(super) fn registration(
    l: &mut Lowerer,
    node: Node,
    receiver: Option<Node>,
    method: &str,
    args: Option<Node>,
) {
    let src = l.src;
    let Some(args) = args else { return };
    if receiver.is_none() {
        return;
    }
    let verb = match method {
        "MapGet" => "GET",
        "MapPost" => "POST",
        "MapPut" => "PUT",
        "MapDelete" => "DELETE",
        "MapPatch" => "PATCH",
        "MapMethods" | "Map" | "MapFallback" => "",
        "Use" | "Run" => {
            middleware_lambda(l, args);
            return;
        }
        _ => return,
    };
    let arguments: Vec<Node> = named_children(args)
        .filter(|c| kind_of(c) == "argument")
        .collect();
    let Some(last) = arguments
        .last()
        .and_then(|a| a.named_child(a.named_child_count().saturating_sub(1)))
    else {
        return;
    };
    if arguments.len() < 2 && method != "MapFallback" {
        return;
    }
    let route = first_string(node, src).unwrap_or_default();
    let path = format!("{}{}", receiver_prefix(l, receiver, 0), route);
    let label = match (verb, path.is_empty()) {
        ("", _) => path.clone(),
        (v, true) => v.to_string(),
        (v, false) => format!("{v} {path}"),
    };
    match kind_of(last) {
        "lambda_expression" | "anonymous_method_expression" => {
            if method == "Map" && is_branch_configuration(last, src) {
                return;
            }
            l.handler_lambdas.insert(last.id(), label);
        }
        "identifier" | "member_access_expression" => {
            let (qualifier, name) = match kind_of(last) {
                "identifier" => (None, text(last, src).to_string()),
                _ => {
                    let (r, m, _) = split_callee(last, src);
                    let q = r.map(|r| {
                        if kind_of(r) == "this_expression" {
                            String::new()
                        } else {
                            simple_name(text(r, src))
                        }
                    });
                    (q, m)
                }
            };
            l.pending_regs.push(PendingReg {
                span: Span::new(node.start_byte(), node.end_byte()),
                route: label,
                scope: l.current_fn(),
                class: l.current_class(),
                qualifier,
                name,
            });
        }
        _ => {}
    }
}

/// `app.Map("/branch", branch => { ... })` configures a pipeline branch; it is not a handler.
fn is_branch_configuration(lambda: Node, src: &str) -> bool {
    let is_async =
        named_children(lambda).any(|c| kind_of(c) == "modifier" && text(c, src) == "async");
    let param = field(lambda, "parameters");
    !is_async && param.is_some_and(|p| kind_of(p) == "implicit_parameter")
}

/// `app.Use(async (context, next) => ...)`, `app.Run(async context => ...)`: inline middleware.
fn middleware_lambda(l: &mut Lowerer, args: Node) {
    let src = l.src;
    let Some(lambda) = named_children(args)
        .filter(|c| kind_of(c) == "argument")
        .last()
        .and_then(|a| a.named_child(a.named_child_count().saturating_sub(1)))
        .filter(|e| kind_of(e) == "lambda_expression")
    else {
        return;
    };
    if named_children(lambda).any(|c| kind_of(c) == "modifier" && text(c, src) == "async") {
        l.handler_lambdas.insert(lambda.id(), String::new());
    }
}

/// Method groups handed to `MapGet(...)`: handlers of this file or, through their class, of another.
pub(super) fn finish(l: &mut Lowerer) {
    let regs = std::mem::take(&mut l.pending_regs);
    for r in regs {
        // A method group names no arity: any overload will do.
        match l.local_target(r.scope, r.class, r.qualifier.as_deref(), &r.name, u32::MAX) {
            Some(f) => {
                let func = &mut l.model.functions[f];
                if !matches!(func.role, Role::Handler(_)) {
                    func.role = handler("aspnet", r.route.clone());
                }
                l.fn_meta[f].startup_scope = false;
            }
            None => {
                let Some(module) = r.qualifier.filter(|q| !q.is_empty()) else {
                    continue;
                };
                l.model.registrations.push(Registration {
                    span: r.span,
                    framework: "aspnet".into(),
                    route: r.route,
                    target: Target::Module {
                        module,
                        name: r.name,
                    },
                    wrapped: false,
                    validated: false,
                    middleware: Vec::new(),
                    startup: false,
                });
            }
        }
    }
}
