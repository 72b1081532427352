//! What the file declares, read once before lowering: `using` aliases, classes with their bases,
//! attributes, fields, properties and method return types. Type names are kept as their last
//! segment without generic arguments (`System.IO.File` -> `File`, `Task<int>` -> `Task`), with
//! the shapes that matter folded together: every EF Core context is `DbContext`, every `DbSet`
//! and `IQueryable` is `IQueryable`.

use crate::lang::kind_of;
use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use crate::lang::{field, text};

/// Framework types whose name ends in `Context` but which are not EF Core contexts.
#[rustfmt::skip]
const NOT_DB_CONTEXTS: &[&str] = &[
    "Http", "Action", "ServerCall", "HubCaller", "Hub", "Result", "Exception", "Authorization",
    "Validation", "ModelBinding", "Page", "View", "Controller", "Filter", "Request", "Execution",
    "Synchronization", "Security", "Operation", "Message", "Consume", "Activity", "Test",
    "Endpoint", "Route", "Resource", "Redirect", "Token", "Saga", "Job", "Hosting", "Middleware",
    "Invocation", "Function", "Schema", "Document", "Serializer", "Json", "Claims", "Formatter",
    "Output", "Input", "Binding", "Property", "Health", "Streaming", "Connection", "Principal",
    "Ticket", "Grain", "Channel", "Pipeline", "Handler", "Command", "Query", "Event", "Publish",
    "Send", "Receive", "Behavior", "Span", "Trace", "Log", "Scope", "Client", "Tenant", "User",
    "Workflow", "Step", "Import", "Export", "Render", "Template", "Binder", "Compilation", "Syntax",
    "Semantic", "Analysis", "Generator", "Source", "Evaluation", "Script", "Razor", "Component",
    "Navigation", "Browser", "Socket", "WebSocket", "Stream", "Call", "Rpc", "Server",
    "Application", "Startup", "Host", "Service", "Configuration", "Session", "Authentication",
    "Cookie", "Form", "Query", "Cancellation", "Retry", "Policy", "Circuit", "Options", "Build",
    "Assembly", "Type", "Member", "Method", "Parameter", "Object", "Value", "Serialization",
    "Culture", "Localization", "Audit", "Tracking", "Cache", "Lock", "Current", "App", "Ambient",
    "Logical", "Local", "Global", "Shared", "Thread", "Async", "Render",
];

/// `Task<X>?` -> `Task`, `System.IO.File` -> `File`, `global::Foo.Bar` -> `Bar`.
pub fn simple_name(raw: &str) -> String {
    let mut s = raw.trim().trim_end_matches('?').trim();
    if let Some(i) = s.find('<') {
        s = &s[..i];
    }
    let s = s.rsplit(['.', ':']).next().unwrap_or(s).trim();
    s.to_string()
}

/// Does a (simple) type name look like an EF Core context?
pub fn is_db_context_name(name: &str) -> bool {
    if name == "DbContext" || name.ends_with("DbContext") || name.ends_with("DataContext") {
        return true;
    }
    if let Some(prefix) = name.strip_suffix("Context") {
        // `ICurrentContext`, `IExecutionContext`: an interface named `I*Context` without `Db` is
        // a request or ambient context far more often than a unit of work.
        let interface = prefix.len() > 1
            && prefix.starts_with('I')
            && prefix[1..].starts_with(char::is_uppercase);
        return !interface
            && !prefix.is_empty()
            && !NOT_DB_CONTEXTS.iter().any(|n| prefix.ends_with(n));
    }
    // `ShippingDb`, `AppDb`: a short name ending in `Db` is a context in EF-style code.
    name.len() > 2 && name.ends_with("Db") && name.starts_with(char::is_uppercase)
}

/// The normalized type of a declared type text.
pub fn normalize(raw: &str, db_contexts: &HashSet<String>) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw == "var" || raw == "dynamic" || raw == "object" {
        return None;
    }
    if raw.ends_with(']') {
        return Some(format!(
            "{}[]",
            simple_name(raw.trim_end_matches(['[', ']', ',']))
        ));
    }
    let name = simple_name(raw);
    Some(match name.as_str() {
        "DbSet" | "IQueryable" | "IOrderedQueryable" | "IIncludableQueryable" => {
            "IQueryable".into()
        }
        n if db_contexts.contains(n) || is_db_context_name(n) => "DbContext".into(),
        _ => name,
    })
}

/// `Task`, `Task<T>`, `ValueTask<T>`: what `.Result` and `.Wait()` block on.
pub fn is_task_type(raw: &str) -> bool {
    matches!(simple_name(raw).as_str(), "Task" | "ValueTask") && !raw.trim().ends_with(']')
}

#[derive(Debug, Default, Clone)]
pub struct ClassInfo {
    pub name: String,
    /// Base types as written (`ControllerBase`, `Hub<IClient>`, `Rates.RatesBase`).
    pub bases: Vec<String>,
    pub attrs: Vec<String>,
    /// Fields, properties and primary-constructor parameters: name -> declared type.
    pub members: HashMap<String, String>,
    /// `[BindProperty]` properties of a Razor page: request input.
    pub bound: HashSet<String>,
    /// Methods: name -> declared return type.
    pub methods: HashMap<String, String>,
    /// `[Route("api/[controller]")]`
    pub route: Option<String>,
}

impl ClassInfo {
    pub fn base_names(&self) -> impl Iterator<Item = String> + '_ {
        self.bases.iter().map(|b| simple_name(b))
    }
}

/// What the file declares, before lowering.
#[derive(Debug, Default)]
pub struct Declarations {
    pub classes: Vec<ClassInfo>,
    pub class_of_node: HashMap<usize, usize>,
    /// `using IOFile = System.IO.File;` -> `IOFile` -> `File`.
    pub aliases: HashMap<String, String>,
    /// `using static System.IO.File;` -> `File`.
    pub static_usings: Vec<String>,
    pub namespaces: Vec<String>,
    /// Local functions anywhere in the file: name -> declared return type.
    pub local_functions: HashMap<String, String>,
    /// Classes of this file deriving from an EF Core context.
    pub db_contexts: HashSet<String>,
}

pub fn declarations(root: Node, src: &str) -> Declarations {
    let mut d = Declarations::default();
    // Only containers of declarations: the unit, namespaces, type bodies, top-level statements.
    // Local functions inside method bodies are read when the method is entered.
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        match kind_of(node) {
            "using_directive" => using(&mut d, node, src),
            "class_declaration"
            | "record_declaration"
            | "struct_declaration"
            | "record_struct_declaration"
            | "interface_declaration" => {
                let info = class_info(node, src);
                if info
                    .base_names()
                    .any(|b| is_db_context_name(&b) || b == "IdentityDbContext")
                {
                    d.db_contexts.insert(info.name.clone());
                }
                d.class_of_node.insert(node.id(), d.classes.len());
                d.classes.push(info);
                if let Some(body) = field(node, "body") {
                    stack.push(body);
                }
            }
            "local_function_statement" => local_function(&mut d.local_functions, node, src),
            "compilation_unit"
            | "namespace_declaration"
            | "file_scoped_namespace_declaration"
            | "declaration_list"
            | "global_statement"
            | "preproc_if"
            | "preproc_else"
            | "preproc_elif"
            | "ERROR" => stack.extend(named_children(node)),
            _ => {}
        }
    }
    d
}

/// `static Task<int> Helper() => ...`: its declared return type, by name.
pub fn local_function(into: &mut HashMap<String, String>, node: Node, src: &str) {
    if let (Some(n), Some(t)) = (field(node, "name"), field(node, "type")) {
        into.entry(text(n, src).to_string())
            .or_insert_with(|| text(t, src).to_string());
    }
}

fn using(d: &mut Declarations, node: Node, src: &str) {
    let mut is_static = false;
    let mut target = None;
    let alias = node
        .child_by_field_name("name")
        .map(|n| text(n, src).to_string());
    for i in 0..node.child_count() {
        let Some(c) = node.child(i) else { continue };
        match kind_of(c) {
            "static" => is_static = true,
            "qualified_name" | "identifier" | "generic_name" | "alias_qualified_name"
                if Some(c) != field(node, "name") =>
            {
                target = Some(text(c, src).to_string());
            }
            _ => {}
        }
    }
    let Some(target) = target else { return };
    match (alias, is_static) {
        (Some(a), _) => {
            d.aliases.insert(a, simple_name(&target));
        }
        (None, true) => d.static_usings.push(simple_name(&target)),
        (None, false) => d.namespaces.push(target),
    }
}

fn class_info(node: Node, src: &str) -> ClassInfo {
    let mut info = ClassInfo {
        name: node
            .child_by_field_name("name")
            .map(|n| text(n, src).to_string())
            .unwrap_or_default(),
        ..ClassInfo::default()
    };
    for c in named_children(node) {
        match kind_of(c) {
            "attribute_list" => {
                info.attrs.extend(attribute_names(c, src));
                if info.route.is_none() {
                    info.route = attribute_arg(c, "Route", src);
                }
            }
            "base_list" => {
                for b in named_children(c) {
                    if kind_of(b) != "argument_list" {
                        let t = text(b, src);
                        // `DbContext(options)` in a primary-constructor base.
                        let t = t.split('(').next().unwrap_or(t).trim();
                        info.bases.push(t.to_string());
                    }
                }
            }
            "parameter_list" => {
                for p in named_children(c).filter(|p| kind_of(p) == "parameter") {
                    if let (Some(n), Some(t)) = (field(p, "name"), field(p, "type")) {
                        info.members
                            .insert(text(n, src).to_string(), text(t, src).to_string());
                    }
                }
            }
            _ => {}
        }
    }
    let Some(body) = field(node, "body") else {
        return info;
    };
    for m in named_children(body) {
        match kind_of(m) {
            "field_declaration" | "event_field_declaration" => {
                let Some(decl) = named_children(m).find(|c| kind_of(c) == "variable_declaration")
                else {
                    continue;
                };
                let ty = decl
                    .child_by_field_name("type")
                    .map_or("", |t| text(t, src));
                for v in named_children(decl).filter(|v| kind_of(v) == "variable_declarator") {
                    if let Some(n) = field(v, "name") {
                        info.members
                            .insert(text(n, src).to_string(), ty.to_string());
                    }
                }
            }
            "method_declaration" => {
                if let (Some(n), Some(t)) = (field(m, "name"), field(m, "returns")) {
                    info.methods
                        .entry(text(n, src).to_string())
                        .or_insert_with(|| text(t, src).to_string());
                }
            }
            "property_declaration" => {
                if let (Some(n), Some(t)) = (field(m, "name"), field(m, "type")) {
                    let name = text(n, src).to_string();
                    let bound = named_children(m)
                        .filter(|c| kind_of(c) == "attribute_list")
                        .flat_map(|a| attribute_names(a, src))
                        .any(|a| a == "BindProperty");
                    if bound || info.attrs.iter().any(|a| a == "BindProperties") {
                        info.bound.insert(name.clone());
                    }
                    info.members.insert(name, text(t, src).to_string());
                }
            }
            _ => {}
        }
    }
    info
}

/// `[Route("x"), HttpGet]` -> `Route`, `HttpGet` (without an `Attribute` suffix).
pub fn attribute_names(list: Node, src: &str) -> Vec<String> {
    named_children(list)
        .filter(|a| kind_of(a) == "attribute")
        .filter_map(|a| field(a, "name"))
        .map(|n| {
            let s = simple_name(text(n, src));
            s.strip_suffix("Attribute").map(str::to_string).unwrap_or(s)
        })
        .collect()
}

/// The first string argument of the named attribute in a list: `[Route("api/x")]` -> `api/x`.
pub fn attribute_arg(list: Node, name: &str, src: &str) -> Option<String> {
    named_children(list)
        .filter(|a| kind_of(a) == "attribute")
        .find(|a| {
            field(*a, "name")
                .is_some_and(|n| simple_name(text(n, src)).trim_end_matches("Attribute") == name)
        })
        .and_then(|a| named_children(a).find(|c| kind_of(c) == "attribute_argument_list"))
        .and_then(|args| named_children(args).next())
        .and_then(|arg| arg.named_child(0))
        .filter(|e| kind_of(e).contains("string"))
        .map(|e| crate::lang::unquote(text(e, src)).to_string())
}

pub use crate::lang::named_children;
