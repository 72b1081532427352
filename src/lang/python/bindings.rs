//! Bindings: imports, parameters, assignments, `with ... as` and `for` targets, and the types
//! and request input they give names.

use crate::lang::field;
use crate::lang::kind_of;
use tree_sitter::Node;

use super::calls::decompose;
use super::scope::{Binding, Expr, Root};
use super::{frameworks, guards, last_segment, named_children, Lowerer};
use crate::lang::{text, unquote};
use crate::model::FnId;

impl<'s, 't> Lowerer<'s, 't> {
    /// Parameters shadow imports; their annotations type them; `request` and dict bodies are
    /// request input.
    pub(super) fn parameters(&mut self, id: FnId, params: Node, self_class: Option<usize>) {
        let src = self.src;
        let mut names = Vec::new();
        for (i, p) in named_children(params).enumerate() {
            let (name, annotation, default) = match kind_of(p) {
                "identifier" => (Some(p), None, None),
                "typed_parameter" => (
                    named_children(p).find(|c| kind_of(c) == "identifier"),
                    field(p, "type"),
                    None,
                ),
                "default_parameter" => (field(p, "name"), None, field(p, "value")),
                "typed_default_parameter" => {
                    (field(p, "name"), field(p, "type"), field(p, "value"))
                }
                "list_splat_pattern" | "dictionary_splat_pattern" => (
                    named_children(p).find(|c| kind_of(c) == "identifier"),
                    None,
                    None,
                ),
                _ => (None, None, None),
            };
            let Some(name) = name else { continue };
            let name = text(name, src).to_string();
            let binding = if i == 0 && self_class.is_some() {
                Binding::SelfOf(self_class.unwrap_or_default())
            } else {
                self.param_binding(&name, annotation, default, id)
            };
            self.scopes.declare(Some(id), &name, binding, false);
            names.push(name);
        }
        self.scopes.params.insert(id, names);
    }

    pub(super) fn param_binding(
        &self,
        name: &str,
        annotation: Option<Node>,
        default: Option<Node>,
        id: FnId,
    ) -> Binding {
        let src = self.src;
        let default_callee = default
            .filter(|d| kind_of(d) == "call")
            .and_then(|d| field(d, "function"))
            .map(|f| last_segment(text(f, src)).to_string());
        let annotation_chain = annotation.and_then(|a| annotation_chain(a, src));
        let annotated_name = annotation_chain
            .as_ref()
            .map(|(r, m)| match (r, m.last()) {
                (_, Some(last)) => last.clone(),
                (Root::Ident(n), None) => n.clone(),
                _ => String::new(),
            })
            .unwrap_or_default();
        // `Annotated[dict, Body()]` / `x: dict = Body(...)`
        let annotated_marker = annotation.map(|a| text(a, src)).unwrap_or("");
        let marker = default_callee.as_deref().or_else(|| {
            ["Body(", "Form(", "Query(", "Depends(", "Security("]
                .iter()
                .find(|m| annotated_marker.contains(*m))
                .map(|m| m.trim_end_matches('('))
        });
        match marker {
            Some("Depends" | "Security") => {}
            Some("Body" | "Form" | "File" | "UploadFile") => {
                return Binding::Input(format!("@{}", marker.unwrap_or("Body")));
            }
            Some("Query") => return Binding::Input("@Query".into()),
            _ => {}
        }
        if matches!(
            annotated_name.as_str(),
            "Request" | "HttpRequest" | "WSGIRequest" | "ASGIRequest"
        ) || (annotation.is_none() && matches!(name, "request" | "req"))
        {
            return Binding::Request;
        }
        if matches!(
            annotated_name.as_str(),
            "dict" | "Dict" | "Mapping" | "MutableMapping"
        ) && marker.is_none()
        {
            return Binding::Input("@Body".into());
        }
        match annotation_chain {
            Some((root, members)) => Binding::Instance(Box::new(Expr {
                scope: self.model.functions[id].parent,
                root,
                members,
                called: false,
                annotation: true,
            })),
            None => Binding::Value,
        }
    }

    pub(super) fn import(&mut self, node: Node) {
        let src = self.src;
        let scope = self.scope_at(node.start_byte());
        if kind_of(node) == "import_statement" {
            for n in named_children(node) {
                match kind_of(n) {
                    "dotted_name" => {
                        let full = text(n, src).to_string();
                        let first = full.split('.').next().unwrap_or("").to_string();
                        self.model.imports.push(full);
                        self.scopes
                            .declare(scope, &first, Binding::Module(first.clone()), true);
                    }
                    "aliased_import" => {
                        let (Some(name), Some(alias)) = (field(n, "name"), field(n, "alias"))
                        else {
                            continue;
                        };
                        let full = text(name, src).to_string();
                        self.model.imports.push(full.clone());
                        self.scopes
                            .declare(scope, text(alias, src), Binding::Module(full), true);
                    }
                    _ => {}
                }
            }
            return;
        }
        let Some(module) = field(node, "module_name") else {
            return;
        };
        let module = text(module, src).replace(char::is_whitespace, "");
        if !module.starts_with('.') {
            self.model.imports.push(module.clone());
        }
        let mut cursor = node.walk();
        for n in node.children_by_field_name("name", &mut cursor) {
            let (name, alias) = match kind_of(n) {
                "dotted_name" => (n, n),
                "aliased_import" => match (field(n, "name"), field(n, "alias")) {
                    (Some(a), Some(b)) => (a, b),
                    _ => continue,
                },
                _ => continue,
            };
            let name = text(name, src);
            let canonical = if module.ends_with('.') {
                format!("{module}{name}")
            } else {
                format!("{module}.{name}")
            };
            if !module.starts_with('.') {
                self.model.imports.push(canonical.clone());
            }
            self.scopes
                .declare(scope, text(alias, src), Binding::Module(canonical), true);
        }
    }

    pub(super) fn assignment(&mut self, node: Node) {
        let Some(left) = field(node, "left") else {
            return;
        };
        let right = field(node, "right");
        let ty = field(node, "type");
        let scope = self.scope_at(node.start_byte());
        let class_body = self.class_body_at(node.start_byte());
        // `a, b = x.get("a"), x.get("b")`: each name gets its own value.
        if let Some(r) = right.filter(|r| matches!(kind_of(r), "expression_list" | "tuple")) {
            if matches!(kind_of(left), "pattern_list" | "tuple_pattern" | "tuple")
                && left.named_child_count() == r.named_child_count()
            {
                let pairs: Vec<(Node, Node)> =
                    named_children(left).zip(named_children(r)).collect();
                for (target, value) in pairs {
                    let binding = self.value_binding(value, scope);
                    self.bind_target(target, binding, scope, class_body);
                }
                return;
            }
        }
        frameworks::hook_assignment(self, left, right, scope);
        let binding = match (ty.and_then(|t| annotation_chain(t, self.src)), right) {
            (Some((root, members)), _) => Binding::Instance(Box::new(Expr {
                scope,
                root,
                members,
                called: false,
                annotation: true,
            })),
            (None, Some(r)) => self.value_binding(r, scope),
            (None, None) => Binding::Value,
        };
        self.bind_target(left, binding, scope, class_body);
    }

    pub(super) fn bind_target(
        &mut self,
        left: Node,
        binding: Binding,
        scope: Option<FnId>,
        class_body: Option<usize>,
    ) {
        let src = self.src;
        match kind_of(left) {
            "identifier" => {
                let name = text(left, src);
                match class_body {
                    Some(c) => {
                        if let Binding::Instance(e) = binding {
                            self.classes[c].attrs.insert(name.to_string(), *e);
                        }
                    }
                    None => self.scopes.declare(scope, name, binding, true),
                }
            }
            "attribute" => {
                // `self.client = httpx.Client()` types `self.client` in every method.
                let (Some(obj), Some(attr)) = (field(left, "object"), field(left, "attribute"))
                else {
                    return;
                };
                if kind_of(obj) != "identifier" {
                    return;
                }
                if let Some(Binding::SelfOf(c)) =
                    self.scopes
                        .lookup(scope, text(obj, src), &self.model.functions)
                {
                    let c = *c;
                    if let Binding::Instance(e) = binding {
                        self.classes[c]
                            .attrs
                            .entry(text(attr, src).to_string())
                            .or_insert(*e);
                    }
                }
            }
            "pattern_list" | "tuple_pattern" | "list_pattern" | "tuple" | "list" => {
                for c in named_children(left) {
                    let b = match &binding {
                        Binding::Input(p) => Binding::Input(p.clone()),
                        _ => Binding::Value,
                    };
                    self.bind_target(c, b, scope, class_body);
                }
            }
            _ => {}
        }
    }

    /// What a name holds after `name = value`.
    pub(super) fn value_binding(&self, value: Node, scope: Option<FnId>) -> Binding {
        if let Some(path) = guards::input_path(self, value, scope) {
            return Binding::Input(path);
        }
        let mut v = value;
        for _ in 0..16 {
            match kind_of(v) {
                "await" | "parenthesized_expression" => match v.named_child(0) {
                    Some(c) => v = c,
                    None => return Binding::Value,
                },
                "binary_operator" => {
                    // `EXPORT_DIR / name` is still a path.
                    let op = field(v, "operator").map(|o| text(o, self.src));
                    match (op, field(v, "left")) {
                        (Some("/"), Some(l)) => v = l,
                        _ => return Binding::Value,
                    }
                }
                "call" => {
                    let Some(f) = field(v, "function") else {
                        return Binding::Value;
                    };
                    // `await asyncio.to_thread(sqlite3.connect, path)` gives what the callable
                    // gives.
                    let handed = match last_segment(text(f, self.src)) {
                        "to_thread" | "run_in_threadpool" | "run_sync" => Some(0),
                        "run_in_executor" => Some(1),
                        _ => None,
                    };
                    if let Some(i) = handed {
                        let callable = field(v, "arguments").and_then(|a| {
                            named_children(a)
                                .filter(|c| kind_of(c) != "keyword_argument")
                                .nth(i)
                        });
                        if let Some(c) =
                            callable.filter(|c| matches!(kind_of(c), "identifier" | "attribute"))
                        {
                            let (root, members) = decompose(c, self.src);
                            return Binding::Instance(Box::new(Expr {
                                scope,
                                root,
                                members,
                                called: true,
                                annotation: false,
                            }));
                        }
                    }
                    let (root, members) = decompose(f, self.src);
                    return Binding::Instance(Box::new(Expr {
                        scope,
                        root,
                        members,
                        called: true,
                        annotation: false,
                    }));
                }
                "identifier" | "attribute" | "subscript" => {
                    let (root, members) = decompose(v, self.src);
                    return Binding::Instance(Box::new(Expr {
                        scope,
                        root,
                        members,
                        called: false,
                        annotation: false,
                    }));
                }
                _ => return Binding::Value,
            }
        }
        Binding::Value
    }

    /// `with X(...) as x` binds `x` like `x = X(...)`.
    pub(super) fn with_item(&mut self, node: Node) {
        let Some(value) = field(node, "value") else {
            return;
        };
        if kind_of(value) != "as_pattern" {
            return;
        }
        let (Some(expr), Some(alias)) = (value.named_child(0), field(value, "alias")) else {
            return;
        };
        let scope = self.scope_at(node.start_byte());
        let binding = self.value_binding(expr, scope);
        for target in named_children(alias) {
            self.bind_target(target, binding.clone(), scope, None);
        }
    }

    pub(super) fn for_statement(&mut self, node: Node) {
        let (Some(left), Some(right)) = (field(node, "left"), field(node, "right")) else {
            return;
        };
        let scope = self.scope_at(node.start_byte());
        let binding = match guards::input_path(self, right, scope) {
            Some(p) => Binding::Input(format!("{p}[]")),
            None => Binding::Value,
        };
        self.bind_target(left, binding, scope, None);
    }
}

/// The class an annotation names: `Optional[Foo]`, `Foo | None`, `"Foo"`, `Annotated[Foo, ...]`.
pub(super) fn annotation_chain(node: Node, src: &str) -> Option<(Root, Vec<String>)> {
    let mut n = node;
    for _ in 0..16 {
        match kind_of(n) {
            "type" | "parenthesized_expression" => n = n.named_child(0)?,
            "identifier" | "attribute" => {
                let (root, members) = decompose(n, src);
                return Some((root, members));
            }
            "generic_type" | "subscript" => {
                let head = n.named_child(0)?;
                let name = last_segment(text(head, src));
                if matches!(name, "Optional" | "Union" | "Annotated") {
                    let params = if kind_of(n) == "generic_type" {
                        named_children(n).find(|c| kind_of(c) == "type_parameter")?
                    } else {
                        n
                    };
                    n = named_children(params).find(|c| c.id() != head.id())?;
                } else {
                    n = head;
                }
            }
            "binary_operator" => {
                let left = field(n, "left")?;
                n = if kind_of(left) == "none" {
                    field(n, "right")?
                } else {
                    left
                };
            }
            "string" => {
                let t = unquote(text(n, src));
                let t = t.split('[').next().unwrap_or(t).trim();
                let mut parts = t.split('.');
                let first = parts.next()?.to_string();
                if first.is_empty() || !first.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return None;
                }
                return Some((Root::Ident(first), parts.map(str::to_string).collect()));
            }
            _ => return None,
        }
    }
    None
}
