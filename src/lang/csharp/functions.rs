//! Functions: methods, constructors, local functions, lambdas and expression-bodied members,
//! with their role (handler, startup, event handler), where they run and their parameters.

use crate::lang::kind_of;
use tree_sitter::Node;

use super::syntax::{compact, split_callee};
use super::types::{self, named_children, normalize};
use super::{guards, handlers, FnMeta, Lowerer, Var, INLINE_CALLBACK_METHODS, OTHER_THREAD_CALLS};
use crate::lang::{field, text};
use crate::model::{Export, FnId, Function, Role, Runs, Span};

impl<'t> Lowerer<'_, 't> {
    pub(super) fn function(&mut self, node: Node<'t>) {
        let src = self.src;
        let parent = self.current_fn();
        let class = self.current_class();
        let kind = kind_of(node);
        let modifiers: Vec<&str> = named_children(node)
            .filter(|c| kind_of(c) == "modifier")
            .map(|c| text(c, src))
            .collect();
        let is_async = modifiers.contains(&"async");
        let params = field(node, "parameters").or_else(|| {
            named_children(node)
                .find(|c| kind_of(c) == "parameter_list" || kind_of(c) == "implicit_parameter")
        });
        let returns = node
            .child_by_field_name("returns")
            .or_else(|| {
                (kind == "local_function_statement")
                    .then(|| field(node, "type"))
                    .flatten()
            })
            .map(|t| text(t, src).to_string());
        let mut name = match kind {
            "lambda_expression" | "anonymous_method_expression" => None,
            "accessor_declaration" | "property_declaration" => {
                let prop = if kind == "property_declaration" {
                    Some(node)
                } else {
                    self.parent_of(node).and_then(|p| self.parent_of(p))
                };
                prop.and_then(|p| field(p, "name"))
                    .map(|n| text(n, src).to_string())
            }
            _ => node
                .child_by_field_name("name")
                .map(|n| text(n, src).to_string()),
        };
        if kind == "constructor_declaration" {
            name = class.map(|c| self.decls.classes[c].name.clone());
        }
        // Where a finding about the function points: after its attributes, up to its parameters.
        let head_start = named_children(node)
            .find(|c| kind_of(c) != "attribute_list")
            .map_or(node.start_byte(), |c| c.start_byte());
        let head_end = params
            .map(|p| p.end_byte())
            .or_else(|| field(node, "name").map(|n| n.end_byte()))
            .unwrap_or(node.end_byte())
            .max(head_start);

        // A callback: the call it is handed to, and where it runs.
        let mut passed_to = None;
        let mut runs = Runs::Own;
        if matches!(kind, "lambda_expression" | "anonymous_method_expression") {
            if let Some((callee, method)) = self.receiving_call(node) {
                if OTHER_THREAD_CALLS.iter().any(|c| callee.ends_with(c)) {
                    runs = Runs::OtherThread;
                } else if INLINE_CALLBACK_METHODS.contains(&method.as_str()) {
                    runs = Runs::Inline;
                }
                passed_to = Some(method);
            }
        }

        let parent_startup = match parent {
            Some(p) => self.fn_meta[p].startup_scope,
            // Top-level statements and field initializers run once.
            None => true,
        };
        let is_lambda = matches!(kind, "lambda_expression" | "anonymous_method_expression");
        let mut role = Role::Plain;
        let mut startup_scope = false;
        if let Some(route) = self.handler_lambdas.remove(&node.id()) {
            role = Role::Handler(crate::model::Handler {
                framework: "aspnet".into(),
                route,
                ..Default::default()
            });
        } else if is_lambda {
            let per_call_factory = passed_to
                .as_deref()
                .is_some_and(|m| m.starts_with("AddScoped") || m.starts_with("AddTransient"));
            if parent_startup && !per_call_factory && runs != Runs::OtherThread {
                role = Role::Startup;
                startup_scope = true;
            }
        } else if kind == "local_function_statement" {
            // A local function of startup code is startup only when startup calls it (pass 2).
        } else if let Some(r) =
            handlers::method_role(self, node, name.as_deref(), class, &modifiers)
        {
            startup_scope = r == Role::Startup;
            role = r;
        }
        let async_void = is_async
            && kind != "lambda_expression"
            && kind != "anonymous_method_expression"
            && returns.as_deref().map(str::trim) == Some("void");
        if async_void && is_event_handler(params, src) {
            role = Role::EventHandler;
        }
        let id = self.model.functions.len();
        self.model.functions.push(Function {
            name: name.clone(),
            span: Span::new(node.start_byte(), node.end_byte()),
            head: Span::new(head_start, head_end),
            is_async,
            returns_task: (is_async && !async_void)
                || returns.as_deref().is_some_and(types::is_task_type),
            parent,
            role,
            runs,
            awaits_outside_try: false,
            // SPEC §3 reports a dropped task whatever its body catches.
            body_guarded: false,
            async_void,
            passed_to,
            class: class.map(|c| self.decls.classes[c].name.clone()),
        });

        self.fn_meta.push(FnMeta {
            returns,
            class,
            startup_scope,
            is_local_function: kind == "local_function_statement",
            params: Vec::new(),
            expression_tree: is_lambda && self.query_argument(node),
        });
        // Local functions may be called before they are declared: read their return types now.
        if let Some(body) = field(node, "body").filter(|b| kind_of(b) == "block") {
            for c in named_children(body).filter(|c| kind_of(c) == "local_function_statement") {
                types::local_function(&mut self.decls.local_functions, c, src);
            }
        }
        self.fn_stack.push((id, node.end_byte()));
        if let Some(p) = params {
            self.parameters(id, p);
        }
        // Public methods are what other files call, as `Class.Method` and `IInterface.Method`.
        if kind == "method_declaration" && !modifiers.contains(&"private") {
            if let (Some(c), Some(n)) = (class, &name) {
                let info = &self.decls.classes[c];
                let mut keys = vec![format!("{}.{n}", info.name)];
                for b in info.base_names() {
                    if b.len() > 1 && b.starts_with('I') && b[1..].starts_with(char::is_uppercase) {
                        keys.push(format!("{b}.{n}"));
                    }
                }
                for k in keys {
                    self.model.exports.push(Export {
                        name: k,
                        function: id,
                    });
                }
            }
        }
    }

    pub(super) fn parameters(&mut self, id: FnId, params: Node<'t>) {
        let src = self.src;
        if kind_of(params) == "implicit_parameter" {
            let n = text(params, src).to_string();
            self.fn_meta[id].params.push(n.clone());
            self.vars.insert(Some(id), n, Var::default());
            return;
        }
        for p in named_children(params).filter(|p| kind_of(p) == "parameter") {
            let Some(n) = field(p, "name") else {
                continue;
            };
            let name = text(n, src).to_string();
            let raw_ty = field(p, "type").map(|t| text(t, src));
            let attrs: Vec<String> = named_children(p)
                .filter(|c| kind_of(c) == "attribute_list")
                .flat_map(|a| types::attribute_names(a, src))
                .collect();
            let var = Var {
                ty: raw_ty.and_then(|t| normalize(t, &self.decls.db_contexts)),
                task: raw_ty.is_some_and(types::is_task_type),
                input: guards::param_input(&name, raw_ty, &attrs),
            };
            self.fn_meta[id].params.push(name.clone());
            self.vars.insert(Some(id), name, var);
        }
    }
}

/// `(object sender, XEventArgs e)`: the signature .NET events call.
pub(super) fn is_event_handler(params: Option<Node>, src: &str) -> bool {
    let Some(params) = params else { return false };
    let ps: Vec<Node> = named_children(params)
        .filter(|p| kind_of(p) == "parameter")
        .collect();
    if ps.len() != 2 {
        return false;
    }
    let ty = |p: Node| field(p, "type").map_or("", |t| text(t, src)).to_string();
    let first = ty(ps[0]);
    let second = types::simple_name(&ty(ps[1]));
    matches!(first.trim_end_matches('?'), "object" | "Object")
        && (second.ends_with("EventArgs") || second.ends_with("Args"))
}

impl<'t> Lowerer<'_, 't> {
    /// The call a lambda is an argument of: (callee as written, method name).
    pub(super) fn receiving_call(&self, lambda: Node<'t>) -> Option<(String, String)> {
        let src = self.src;
        let arg = self
            .parent_of(lambda)
            .filter(|p| kind_of(p) == "argument")?;
        let list = self
            .parent_of(arg)
            .filter(|p| kind_of(p) == "argument_list")?;
        let call = self.parent_of(list)?;
        match kind_of(call) {
            "invocation_expression" => {
                let f = field(call, "function")?;
                let (_, method, _) = split_callee(f, src);
                Some((compact(f, src), method))
            }
            "object_creation_expression" => {
                let t = types::simple_name(text(field(call, "type")?, src));
                Some((format!("new {t}"), format!("new {t}")))
            }
            _ => None,
        }
    }
}
