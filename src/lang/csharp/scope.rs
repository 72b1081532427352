//! Variables and types: locals, parameters and fields with the type the file shows, and the
//! normalized type of an expression (`db.Orders.Where(...)` is an `IQueryable`).

use crate::lang::kind_of;
use tree_sitter::Node;

use super::syntax::{is_this, split_callee, strip};
use super::types::{self, named_children, normalize};
use super::{guards, handlers, Lowerer, Var, QUERY_OPERATORS};
use crate::lang::{field, text};
use crate::model::TaskEvidence;

impl<'t> Lowerer<'_, 't> {
    /// The variable a name refers to here: locals of this function and the enclosing ones, then
    /// the top level, then the members of the enclosing classes.
    pub(super) fn lookup(&self, name: &str) -> Option<Var> {
        for f in self.scopes(self.current_fn()) {
            if let Some(v) = self.vars.get(f, name) {
                return Some(v.clone());
            }
        }
        self.member(name)
    }

    /// A field, property or primary-constructor parameter of an enclosing class.
    pub(super) fn member(&self, name: &str) -> Option<Var> {
        for &(c, _) in self.class_stack.iter().rev() {
            let info = &self.decls.classes[c];
            if let Some(raw) = info.members.get(name) {
                return Some(Var {
                    ty: normalize(raw, &self.decls.db_contexts),
                    task: types::is_task_type(raw),
                    input: info
                        .bound
                        .contains(name)
                        .then(|| format!("@BindProperty.{name}")),
                });
            }
        }
        None
    }

    pub(super) fn is_local(&self, name: &str) -> bool {
        self.scopes(self.current_fn())
            .any(|f| self.vars.contains(f, name))
    }

    pub(super) fn declaration(&mut self, node: Node<'t>) {
        let src = self.src;
        let raw_ty = field(node, "type").map(|t| text(t, src));
        // Field declarations are read by the pre-scan.
        if self
            .parent_of(node)
            .is_some_and(|p| matches!(kind_of(p), "field_declaration" | "event_field_declaration"))
        {
            return;
        }
        let scope = self.current_fn();
        for v in named_children(node).filter(|v| kind_of(v) == "variable_declarator") {
            let Some(n) = field(v, "name") else {
                continue;
            };
            let value = named_children(v).find(|c| Some(*c) != field(v, "name"));
            let mut var = Var::default();
            match raw_ty {
                Some(t) if t != "var" => {
                    var.ty = normalize(t, &self.decls.db_contexts);
                    var.task = types::is_task_type(t);
                }
                _ => {
                    if let Some(value) = value {
                        var.ty = self.expr_type(value);
                        var.task = self.evidence(value) == TaskEvidence::Task;
                    }
                }
            }
            if let Some(value) = value {
                var.input = guards::derived_input(self, value);
                if let Some(prefix) = handlers::group_prefix(self, value) {
                    self.groups.insert(text(n, src).to_string(), prefix);
                }
            }
            let name = text(n, src).to_string();
            self.completed.remove(scope, &name);
            self.vars.insert(scope, name, var);
        }
    }

    /// `foreach (var x in ...)` declares `x`; `foreach (HttpClient c in ...)` types it.
    pub(super) fn foreach(&mut self, node: Node<'t>) {
        let src = self.src;
        let Some(left) = field(node, "left") else {
            return;
        };
        if kind_of(left) != "identifier" {
            return;
        }
        let raw = field(node, "type").map(|t| text(t, src));
        let var = Var {
            ty: raw.and_then(|t| normalize(t, &self.decls.db_contexts)),
            task: raw.is_some_and(types::is_task_type),
            input: None,
        };
        self.vars
            .insert(self.current_fn(), text(left, src).to_string(), var);
    }

    /// `x = ...` makes `x` a different value: forget that it was awaited, retype it.
    pub(super) fn assignment(&mut self, node: Node<'t>) {
        let src = self.src;
        let (Some(left), Some(right)) = (field(node, "left"), field(node, "right")) else {
            return;
        };
        if kind_of(left) != "identifier" {
            return;
        }
        let name = text(left, src);
        let Some(f) = self
            .scopes(self.current_fn())
            .find(|&f| self.vars.contains(f, name))
        else {
            return;
        };
        self.completed.remove(f, name);
        let task = self.evidence(right) == TaskEvidence::Task;
        if let Some(v) = self.vars.get_mut(f, name) {
            v.task |= task;
        }
    }

    /// A static type an expression names (`File`, `System.IO.File`, `IOFile` through an alias),
    /// when it is not a variable.
    pub(super) fn static_type(&self, node: Node<'t>) -> Option<String> {
        let src = self.src;
        match kind_of(node) {
            "identifier" => {
                let t = text(node, src);
                if self.is_local(t) || self.member(t).is_some() {
                    return None;
                }
                if let Some(a) = self.decls.aliases.get(t) {
                    return Some(a.clone());
                }
                t.starts_with(char::is_uppercase).then(|| t.to_string())
            }
            "predefined_type" => Some(match text(node, src) {
                "string" => "String".to_string(),
                other => other.to_string(),
            }),
            "generic_name" => {
                let id = named_children(node).find(|c| kind_of(c) == "identifier")?;
                self.static_type(id)
            }
            "member_access_expression" | "qualified_name" | "alias_qualified_name" => {
                // `System.IO.File`: every segment an identifier, the root not a variable.
                let mut n = node;
                loop {
                    match kind_of(n) {
                        "member_access_expression" => n = field(n, "expression")?,
                        "qualified_name" => n = field(n, "qualifier")?,
                        "alias_qualified_name" => break,
                        "identifier" => {
                            let t = text(n, src);
                            if self.is_local(t) || self.member(t).is_some() {
                                return None;
                            }
                            break;
                        }
                        "this_expression" | "base_expression" => return None,
                        _ => return None,
                    }
                }
                let last = match kind_of(node) {
                    "member_access_expression" => field(node, "name")?,
                    "qualified_name" => field(node, "name")?,
                    _ => node,
                };
                let t = types::simple_name(text(last, src));
                if let Some(a) = self.decls.aliases.get(&t) {
                    return Some(a.clone());
                }
                t.starts_with(char::is_uppercase).then_some(t)
            }
            _ => None,
        }
    }

    /// The normalized type of an expression, where the file shows it.
    pub(super) fn expr_type(&self, node: Node<'t>) -> Option<String> {
        self.expr_type_at(node, 0)
    }

    /// Receiver chains can be thousands of calls long: look only this far down.
    fn expr_type_at(&self, node: Node<'t>, depth: u32) -> Option<String> {
        if depth > 32 {
            return None;
        }
        let src = self.src;
        let node = strip(node);
        match kind_of(node) {
            "identifier" => {
                let t = text(node, src);
                if let Some(v) = self.lookup(t) {
                    return v.ty;
                }
                // Members every controller, page and middleware has.
                match t {
                    "Request" => Some("HttpRequest".into()),
                    "Response" => Some("HttpResponse".into()),
                    "HttpContext" => Some("HttpContext".into()),
                    _ => None,
                }
            }
            "cast_expression" => node
                .child_by_field_name("type")
                .and_then(|t| normalize(text(t, src), &self.decls.db_contexts)),
            "object_creation_expression" => node
                .child_by_field_name("type")
                .and_then(|t| normalize(text(t, src), &self.decls.db_contexts)),
            "member_access_expression" => {
                let expr = field(node, "expression")?;
                let name = field(node, "name").map(|n| text(n, src))?;
                if kind_of(expr) == "this_expression" {
                    return self.member(name).and_then(|v| v.ty);
                }
                let owner = self.expr_type_at(expr, depth + 1)?;
                member_type(&owner, name)
            }
            "invocation_expression" => {
                let function = field(node, "function")?;
                let (receiver, method, generic) = split_callee(function, src);
                match method.as_str() {
                    "GetRequiredService" | "GetService" | "GetRequiredKeyedService" => {
                        return generic.and_then(|g| normalize(&g, &self.decls.db_contexts))
                    }
                    "CreateDbContext" => return Some("DbContext".into()),
                    "CreateClient" if receiver.is_some() => return Some("HttpClient".into()),
                    // Test doubles: `sub.Received(1).SaveAsync(x)` checks a call, it makes none.
                    "Received"
                    | "DidNotReceive"
                    | "ReceivedWithAnyArgs"
                    | "DidNotReceiveWithAnyArgs"
                    | "Setup"
                    | "SetupSequence"
                    | "When"
                    | "Verify"
                    | "VerifyAsync" => return Some("TestDouble".into()),
                    "OpenReadStream" => return Some("Stream".into()),
                    "CreateCommand" => return Some("DbCommand".into()),
                    "GetResponse" => return Some("WebResponse".into()),
                    "GetResponseStream" => return Some("Stream".into()),
                    _ => {}
                }
                let owner = match receiver {
                    Some(r) => self
                        .static_type(r)
                        .map(|s| format!("static {s}"))
                        .or_else(|| self.expr_type_at(r, depth + 1)),
                    None => None,
                };
                match owner.as_deref() {
                    Some("IQueryable") if QUERY_OPERATORS.contains(&method.as_str()) => {
                        Some("IQueryable".into())
                    }
                    Some("DbContext") if method == "Set" => Some("IQueryable".into()),
                    Some("static File") => match method.as_str() {
                        "OpenRead" | "OpenWrite" | "Create" | "Open" => Some("FileStream".into()),
                        "OpenText" | "CreateText" | "AppendText" => Some("StreamReader".into()),
                        _ => None,
                    },
                    Some("static WebRequest") | Some("static HttpWebRequest")
                        if method == "Create" || method == "CreateHttp" =>
                    {
                        Some("HttpWebRequest".into())
                    }
                    None if receiver.is_none() || is_this(receiver) => {
                        // A method of this class: its declared return type.
                        let class = self.current_class()?;
                        self.method_return(class, &method)
                            .and_then(|r| normalize(&r, &self.decls.db_contexts))
                    }
                    _ => None,
                }
            }
            "await_expression" => {
                let inner = strip(node.named_child(0)?);
                if kind_of(inner) == "invocation_expression" {
                    let f = field(inner, "function")?;
                    let (_, method, _) = split_callee(f, src);
                    if method == "CreateDbContextAsync" {
                        return Some("DbContext".into());
                    }
                }
                None
            }
            _ => None,
        }
    }

    /// The declared return type of a method of a class of this file, from the pre-scan.
    pub(super) fn method_return(&self, class: usize, name: &str) -> Option<String> {
        self.declared_return(class, name)
    }

    /// Return types of methods declared later in the file, from the pre-scan.
    pub(super) fn declared_return(&self, class: usize, name: &str) -> Option<String> {
        self.decls.classes[class].methods.get(name).cloned()
    }
}

/// The type a member of a known type has (`HttpContext.Request` is an `HttpRequest`).
pub(super) fn member_type(owner: &str, name: &str) -> Option<String> {
    Some(
        match (owner, name) {
            ("DbContext", "Database") => "DatabaseFacade",
            ("DbContext", "ChangeTracker" | "Model" | "ContextId") => return None,
            ("DbContext", n) if n.starts_with(char::is_uppercase) => "IQueryable",
            ("HttpContext", "Request") => "HttpRequest",
            ("HttpContext", "Response") => "HttpResponse",
            ("HttpRequest" | "HttpResponse", "Body") => "Stream",
            ("Process", "StandardOutput" | "StandardError") => "StreamReader",
            _ => return None,
        }
        .to_string(),
    )
}

impl<'t> Lowerer<'_, 't> {
    /// The declared type a target-typed `new()` takes from its declaration.
    pub(super) fn declared_type_of(&self, node: Node<'t>) -> Option<String> {
        let src = self.src;
        let declarator = self
            .parent_of(node)
            .filter(|p| kind_of(p) == "variable_declarator")?;
        let declaration = self
            .parent_of(declarator)
            .filter(|p| kind_of(p) == "variable_declaration")?;
        let t = field(declaration, "type")?;
        (kind_of(t) != "implicit_type").then(|| text(t, src).to_string())
    }
}
