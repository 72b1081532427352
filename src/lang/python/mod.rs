//! The Python front-end: one pre-order pass over the tree records functions, classes, bindings,
//! calls, decorators and guards; names are resolved once the whole file is seen (a module-level
//! function may be defined below the handler that calls it).

mod frameworks;
mod guards;
mod scope;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use tree_sitter::Node;

use super::{count_errors, text, unquote};
use crate::model::{Call, Export, FileModel, FnId, Function, Role, Runs, Span, Target, Use};
use scope::{Binding, ClassInfo, Expr, Root, Scopes, View};

/// Calls that hand a coroutine to the loop to run concurrently: the coroutine outlives the caller.
const SPAWNERS: &[&str] = &[
    "create_task",
    "ensure_future",
    "start_soon",
    "run_coroutine_threadsafe",
    "spawn",
];

/// Decorators that memoize a function: what it returns is created once (a lazy singleton).
const MEMOIZERS: &[&str] = &[
    "lru_cache",
    "cache",
    "cached",
    "cached_property",
    "alru_cache",
    "memoize",
];

pub fn lower(root: Node, source: &str, path: &Path) -> FileModel {
    let mut l = Lowerer {
        parents: Vec::new(),
        src: source,
        model: FileModel::default(),
        scopes: Scopes::default(),
        fn_stack: Vec::new(),
        class_stack: Vec::new(),
        classes: Vec::new(),
        fn_class: HashMap::new(),
        node_fn: HashMap::new(),
        node_call: HashMap::new(),
        callees: Vec::new(),
        call_args: Vec::new(),
        decorators: Vec::new(),
        memoized: HashSet::new(),
        returns: HashMap::new(),
        hooks: Vec::new(),
        assigned: Vec::new(),
        returned: HashSet::new(),
    };
    l.model.parse_errors = count_errors(root);
    // Pre-order with an explicit ancestor stack: no recursion, no O(depth) parent lookups.
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        l.visit(node);
        if !matches!(node.kind(), "comment" | "string_content") && cursor.goto_first_child() {
            l.parents.push(node);
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
            l.parents.pop();
        }
    }
    l.finish(path)
}

/// An argument of a call, as far as registrations and thread hand-offs care.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    Str(String),
    /// A name or attribute chain (`views.index`, `get_session`).
    Ref(Expr),
    /// A `lambda` or nested function written in place (its node id).
    Func(usize),
    List(Vec<Arg>),
    Other,
}

#[derive(Debug, Clone, Default)]
pub(super) struct CallArgs {
    pub positional: Vec<Arg>,
    pub keywords: Vec<(String, Arg)>,
}

impl CallArgs {
    pub fn keyword(&self, name: &str) -> Option<&Arg> {
        self.keywords
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, a)| a)
    }

    pub fn first_str(&self) -> Option<&str> {
        self.positional.iter().find_map(|a| match a {
            Arg::Str(s) => Some(s.as_str()),
            _ => None,
        })
    }
}

/// What a decorator decorates.
#[derive(Debug, Clone, Copy)]
pub(super) enum Decorated {
    Function(FnId),
    Class(usize),
}

#[derive(Debug, Clone)]
pub(super) struct Decorator {
    pub target: Decorated,
    /// The decorator's callee (`app.get` of `@app.get("/x")`, `login_required`).
    pub expr: Expr,
    /// The decorator's call, when it has arguments.
    pub call: Option<usize>,
}

pub(super) struct Lowerer<'s, 't> {
    /// The ancestors of the node being visited, innermost last (`Node::parent` is O(depth)).
    parents: Vec<Node<'t>>,
    src: &'s str,
    model: FileModel,
    scopes: Scopes,
    /// Enclosing functions: (id, where the body starts, where the function ends).
    fn_stack: Vec<(FnId, usize, usize)>,
    /// Enclosing classes: (index, where the body starts, where the class ends).
    class_stack: Vec<(usize, usize, usize)>,
    classes: Vec<ClassInfo>,
    /// Methods: the class whose body defines them.
    fn_class: HashMap<FnId, usize>,
    node_fn: HashMap<usize, FnId>,
    node_call: HashMap<usize, usize>,
    /// The callee of each call, resolved at the end.
    callees: Vec<Expr>,
    call_args: Vec<CallArgs>,
    decorators: Vec<Decorator>,
    memoized: HashSet<FnId>,
    /// Return annotations: what calling the function gives.
    returns: HashMap<FnId, Expr>,
    /// Functions assigned to startup hooks (`on_startup = [startup]` in arq's `WorkerSettings`,
    /// `app.on_startup = ...`).
    hooks: Vec<Arg>,
    /// Calls whose result a local name holds: (call id, scope, name).
    assigned: Vec<(usize, Option<FnId>, String)>,
    /// Names a function returns or yields (`client = Client(); return client`).
    returned: HashSet<(Option<FnId>, String)>,
}

impl<'s, 't> Lowerer<'s, 't> {
    /// The function whose body holds byte `at` (parameters and decorators belong to the
    /// enclosing scope: they are evaluated where the function is defined).
    fn scope_at(&self, at: usize) -> Option<FnId> {
        self.fn_stack
            .iter()
            .rev()
            .find(|&&(_, body, _)| at >= body)
            .map(|&(id, _, _)| id)
    }

    /// The class whose body directly holds byte `at` (not inside one of its methods).
    fn class_body_at(&self, at: usize) -> Option<usize> {
        let &(class, body, _) = self.class_stack.last()?;
        if at < body {
            return None;
        }
        let fn_body = self
            .fn_stack
            .iter()
            .rev()
            .find(|&&(_, b, _)| at >= b)
            .map_or(0, |&(_, b, _)| b);
        (body > fn_body).then_some(class)
    }

    fn visit(&mut self, node: Node<'t>) {
        let start = node.start_byte();
        while self
            .fn_stack
            .last()
            .is_some_and(|&(_, _, end)| end <= start)
        {
            self.fn_stack.pop();
        }
        while self
            .class_stack
            .last()
            .is_some_and(|&(_, _, end)| end <= start)
        {
            self.class_stack.pop();
        }
        match node.kind() {
            "function_definition" | "lambda" => self.function(node),
            "class_definition" => self.class(node),
            "call" => self.call(node),
            "import_statement" | "import_from_statement" => self.import(node),
            "assignment" => self.assignment(node),
            "global_statement" | "nonlocal_statement" => {
                if let Some(f) = self.scope_at(start) {
                    let names: Vec<String> = named_children(node)
                        .filter(|c| c.kind() == "identifier")
                        .map(|c| text(c, self.src).to_string())
                        .collect();
                    self.scopes.globals.entry(f).or_default().extend(names);
                }
            }
            "with_item" => self.with_item(node),
            "for_statement" => self.for_statement(node),
            "if_statement" | "elif_clause" => guards::if_statement(self, node),
            "return_statement" | "yield" => {
                let scope = self.scope_at(start);
                if node.kind() == "yield" {
                    if let Some(f) = scope {
                        // An async generator: calling it without `await` is how it is used.
                        self.model.functions[f].returns_task = false;
                    }
                }
                for c in named_children(node) {
                    let names: Vec<Node> = if c.kind() == "identifier" {
                        vec![c]
                    } else if matches!(c.kind(), "expression_list" | "tuple") {
                        named_children(c)
                            .filter(|n| n.kind() == "identifier")
                            .collect()
                    } else {
                        Vec::new()
                    };
                    for n in names {
                        self.returned.insert((scope, text(n, self.src).to_string()));
                    }
                }
            }
            _ => {}
        }
    }

    fn function(&mut self, node: Node<'t>) {
        let src = self.src;
        let is_lambda = node.kind() == "lambda";
        let parent = self.scope_at(node.start_byte());
        let class = if is_lambda {
            None
        } else {
            self.class_body_at(node.start_byte())
        };
        let is_async = !is_lambda
            && (0..node.child_count())
                .filter_map(|i| node.child(i))
                .take_while(|c| c.kind() != "def")
                .any(|c| c.kind() == "async");
        let name = node
            .child_by_field_name("name")
            .map(|n| text(n, src).to_string());
        let params = node.child_by_field_name("parameters");
        let body = node.child_by_field_name("body");
        let head_end = params
            .map(|p| p.end_byte())
            .or(body.map(|b| b.start_byte()))
            .unwrap_or(node.end_byte());
        // A callback: the call it is handed to decides where it runs.
        let mut passed_to = None;
        let mut runs = if is_lambda { Runs::Inline } else { Runs::Own };
        if let Some((call, index, keyword)) = argument_of(node, &self.parents, src) {
            if let Some(callee) = call.child_by_field_name("function") {
                let callee_text = text(callee, src);
                let method = last_segment(callee_text).to_string();
                if frameworks::is_thread_handoff(&method, index, keyword.as_deref()) {
                    runs = Runs::OtherThread;
                }
                passed_to = Some(method);
            }
        }
        let id = self.model.functions.len();
        self.model.functions.push(Function {
            name: name.clone(),
            span: Span::new(node.start_byte(), node.end_byte()),
            head: Span::new(node.start_byte(), head_end),
            is_async,
            // Until a `yield` makes it an async generator (see `finish`).
            returns_task: is_async,
            parent,
            role: Role::Plain,
            runs,
            awaits_outside_try: false,
            // Calling a coroutine function without `await` never runs it: no `try` helps.
            body_guarded: false,
            async_void: false,
            passed_to,
            class: class.map(|c| self.classes[c].name.clone()),
        });
        self.node_fn.insert(node.id(), id);
        if let Some(c) = class {
            self.classes[c].methods.push(id);
            self.fn_class.insert(id, c);
        } else if let Some(n) = &name {
            self.scopes.declare(parent, n, Binding::Function(id), true);
        }
        let decorated = self
            .parents
            .last()
            .copied()
            .filter(|p| p.kind() == "decorated_definition");
        let mut is_static = false;
        if let Some(d) = decorated {
            for dec in named_children(d).filter(|c| c.kind() == "decorator") {
                let t = text(dec, src).trim_start_matches('@');
                let callee = t.split('(').next().unwrap_or(t).trim();
                let last = last_segment(callee);
                if MEMOIZERS.contains(&last) {
                    self.memoized.insert(id);
                }
                if last == "staticmethod" {
                    is_static = true;
                }
                self.decorator(dec, Decorated::Function(id), parent);
            }
        }
        if let Some((root, members)) = node
            .child_by_field_name("return_type")
            .and_then(|t| annotation_chain(t, src))
        {
            self.returns.insert(
                id,
                Expr {
                    scope: parent,
                    root,
                    members,
                    called: false,
                    annotation: true,
                },
            );
        }
        let body_start = body.map_or(node.end_byte(), |b| b.start_byte());
        self.fn_stack.push((id, body_start, node.end_byte()));
        if let Some(params) = params {
            let self_class = class.filter(|_| !is_static);
            self.parameters(id, params, self_class);
        }
    }

    fn decorator(&mut self, dec: Node, target: Decorated, scope: Option<FnId>) {
        let Some(expr) = dec.named_child(0) else {
            return;
        };
        let (callee, call) = if expr.kind() == "call" {
            match expr.child_by_field_name("function") {
                Some(f) => (f, Some(expr.id())),
                None => return,
            }
        } else {
            (expr, None)
        };
        let (root, members) = decompose(callee, self.src);
        self.decorators.push(Decorator {
            target,
            expr: Expr {
                scope,
                root,
                members,
                called: false,
                annotation: false,
            },
            call,
        });
    }

    /// Parameters shadow imports; their annotations type them; `request` and dict bodies are
    /// request input.
    fn parameters(&mut self, id: FnId, params: Node, self_class: Option<usize>) {
        let src = self.src;
        let mut names = Vec::new();
        for (i, p) in named_children(params).enumerate() {
            let (name, annotation, default) = match p.kind() {
                "identifier" => (Some(p), None, None),
                "typed_parameter" => (
                    named_children(p).find(|c| c.kind() == "identifier"),
                    p.child_by_field_name("type"),
                    None,
                ),
                "default_parameter" => (
                    p.child_by_field_name("name"),
                    None,
                    p.child_by_field_name("value"),
                ),
                "typed_default_parameter" => (
                    p.child_by_field_name("name"),
                    p.child_by_field_name("type"),
                    p.child_by_field_name("value"),
                ),
                "list_splat_pattern" | "dictionary_splat_pattern" => (
                    named_children(p).find(|c| c.kind() == "identifier"),
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

    fn param_binding(
        &self,
        name: &str,
        annotation: Option<Node>,
        default: Option<Node>,
        id: FnId,
    ) -> Binding {
        let src = self.src;
        let default_callee = default
            .filter(|d| d.kind() == "call")
            .and_then(|d| d.child_by_field_name("function"))
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

    fn class(&mut self, node: Node<'t>) {
        let src = self.src;
        let scope = self.scope_at(node.start_byte());
        let outer_class = self.class_body_at(node.start_byte());
        let name = node
            .child_by_field_name("name")
            .map_or("", |n| text(n, src))
            .to_string();
        let bases = node
            .child_by_field_name("superclasses")
            .map(|s| {
                named_children(s)
                    .filter(|b| matches!(b.kind(), "identifier" | "attribute"))
                    .map(|b| {
                        let (root, members) = decompose(b, src);
                        Expr {
                            scope,
                            root,
                            members,
                            called: false,
                            annotation: true,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let idx = self.classes.len();
        self.classes.push(ClassInfo {
            name: name.clone(),
            bases,
            ..ClassInfo::default()
        });
        if outer_class.is_none() {
            self.scopes.declare(scope, &name, Binding::Class(idx), true);
        }
        if let Some(d) = self
            .parents
            .last()
            .copied()
            .filter(|p| p.kind() == "decorated_definition")
        {
            for dec in named_children(d).filter(|c| c.kind() == "decorator") {
                self.decorator(dec, Decorated::Class(idx), scope);
            }
        }
        let body_start = node
            .child_by_field_name("body")
            .map_or(node.end_byte(), |b| b.start_byte());
        self.class_stack.push((idx, body_start, node.end_byte()));
    }

    fn call(&mut self, node: Node<'t>) {
        let src = self.src;
        let Some(callee) = node.child_by_field_name("function") else {
            return;
        };
        let scope = self.scope_at(node.start_byte());
        let args = node.child_by_field_name("arguments");
        let (root, members) = decompose(callee, src);
        let mut call_args = CallArgs::default();
        let mut first_arg = None;
        let mut arg_count = 0;
        if let Some(a) = args.filter(|a| a.kind() == "argument_list") {
            for arg in named_children(a).filter(|c| c.kind() != "comment") {
                arg_count += 1;
                if arg.kind() == "keyword_argument" {
                    if let (Some(k), Some(v)) = (
                        arg.child_by_field_name("name"),
                        arg.child_by_field_name("value"),
                    ) {
                        let value = self.arg(v, scope);
                        call_args.keywords.push((text(k, src).to_string(), value));
                    }
                    continue;
                }
                if first_arg.is_none() {
                    let t = text(arg, src);
                    let t = if arg.kind() == "string" {
                        unquote(t)
                    } else {
                        t
                    };
                    first_arg = Some(t.chars().take(120).collect::<String>());
                }
                if call_args.positional.len() < 8 {
                    call_args.positional.push(self.arg(arg, scope));
                }
            }
        } else if args.is_some() {
            arg_count = 1;
        }
        let id = self.model.calls.len();
        let result = self.result_use(node, scope);
        if result == Use::Assigned {
            if let Some(name) = assigned_name(node, &self.parents, src) {
                self.assigned.push((id, scope, name));
            }
        }
        self.model.calls.push(Call {
            span: Span::new(node.start_byte(), node.end_byte()),
            in_fn: scope,
            callee: None,
            text: callee_text(callee, src, 0),
            construct: false,
            result,
            target: None,
            // Python's lazy singletons are told by where they store (`global`, attributes).
            lazy_init: false,
            first_arg,
            arg_count,
            receiver_call: None,
            returns_promise: false,
        });
        self.node_call.insert(node.id(), id);
        self.callees.push(Expr {
            scope,
            root,
            members,
            called: true,
            annotation: false,
        });
        self.call_args.push(call_args);
    }

    fn arg(&self, node: Node, scope: Option<FnId>) -> Arg {
        self.arg_depth(node, scope, 0)
    }

    fn arg_depth(&self, node: Node, scope: Option<FnId>, depth: u32) -> Arg {
        match node.kind() {
            "string" => Arg::Str(unquote(text(node, self.src)).to_string()),
            "identifier" | "attribute" => {
                let (root, members) = decompose(node, self.src);
                Arg::Ref(Expr {
                    scope,
                    root,
                    members,
                    called: false,
                    annotation: false,
                })
            }
            "lambda" => Arg::Func(node.id()),
            // Registration lists are flat: deeper nesting is data, not handlers.
            "list" | "tuple" if depth < 4 => Arg::List(
                named_children(node)
                    .take(64)
                    .map(|c| self.arg_depth(c, scope, depth + 1))
                    .collect(),
            ),
            _ => Arg::Other,
        }
    }

    /// What the code around a call does with its result.
    fn result_use(&self, node: Node, scope: Option<FnId>) -> Use {
        let mut awaited = false;
        let use_ = self.result_use_inner(node, &self.parents, scope, &mut awaited, 0);
        if awaited && matches!(use_, Use::Other | Use::Chained) {
            Use::Awaited
        } else {
            use_
        }
    }

    /// `ancestors`: those of `node`, innermost last.
    fn result_use_inner(
        &self,
        node: Node,
        ancestors: &[Node],
        scope: Option<FnId>,
        awaited: &mut bool,
        depth: u32,
    ) -> Use {
        let mut child = node;
        for (i, &p) in ancestors.iter().enumerate().rev() {
            match p.kind() {
                "parenthesized_expression"
                | "conditional_expression"
                | "boolean_operator"
                | "expression_list" => {}
                // `x = await f()` stores what `f` made; only a bare `await f()` just awaits.
                "await" => *awaited = true,
                "return_statement" | "lambda" | "yield" => {
                    return if scope.is_some_and(|f| self.memoized.contains(&f)) {
                        Use::Stored
                    } else {
                        Use::Returned
                    };
                }
                "expression_statement" => {
                    return if *awaited {
                        Use::Awaited
                    } else {
                        Use::Discarded
                    }
                }
                "assignment" | "augmented_assignment" => {
                    if p.child_by_field_name("right") != Some(child) {
                        return Use::Other;
                    }
                    return self.assigned_use(p.child_by_field_name("left"), scope);
                }
                "with_item" | "as_pattern" | "with_clause" => return Use::Assigned,
                "argument_list" | "keyword_argument" => {
                    let list = if p.kind() == "keyword_argument" {
                        i.checked_sub(1)
                    } else {
                        Some(i)
                    };
                    let outer_index = list.and_then(|j| j.checked_sub(1));
                    let outer = outer_index
                        .map(|j| ancestors[j])
                        .filter(|c| c.kind() == "call");
                    let spawned = outer
                        .and_then(|c| c.child_by_field_name("function"))
                        .is_some_and(|f| SPAWNERS.contains(&last_segment(text(f, self.src))));
                    if spawned {
                        return Use::Spawned;
                    }
                    // `_client = Minio(http_client=PoolManager())`: the argument lives as long
                    // as what it is given to.
                    if let (Some(outer), Some(j)) = (outer.filter(|_| depth < 4), outer_index) {
                        let mut awaited = false;
                        let outer_use = self.result_use_inner(
                            outer,
                            &ancestors[..j],
                            scope,
                            &mut awaited,
                            depth + 1,
                        );
                        if outer_use == Use::Stored {
                            return Use::Stored;
                        }
                    }
                    return Use::Argument;
                }
                "list"
                | "set"
                | "tuple"
                | "dictionary"
                | "pair"
                | "list_splat"
                | "generator_expression"
                | "list_comprehension"
                | "set_comprehension"
                | "dictionary_comprehension" => return Use::Argument,
                "attribute" => {
                    return if p.child_by_field_name("object") == Some(child) {
                        Use::Chained
                    } else {
                        Use::Other
                    }
                }
                "subscript" | "call" => return Use::Chained,
                _ => return Use::Other,
            }
            child = p;
        }
        Use::Other
    }

    fn assigned_use(&self, left: Option<Node>, scope: Option<FnId>) -> Use {
        let Some(left) = left else { return Use::Other };
        match left.kind() {
            "identifier" => {
                let name = text(left, self.src);
                if name == "_" {
                    Use::Voided
                } else if scope.is_none() || self.scopes.is_global_in(scope, name) {
                    Use::Stored
                } else {
                    Use::Assigned
                }
            }
            "attribute" | "subscript" => {
                // Flask's `g` and the request live for one request only.
                let (root, _) = decompose(left, self.src);
                let per_request = match &root {
                    Root::Ident(n) => match self.scopes.lookup(scope, n, &self.model.functions) {
                        Some(Binding::Module(m)) => m == "flask.g" || m == "quart.g",
                        Some(Binding::Request) => true,
                        _ => false,
                    },
                    _ => false,
                };
                if per_request {
                    Use::Assigned
                } else {
                    Use::Stored
                }
            }
            _ => Use::Assigned,
        }
    }

    fn import(&mut self, node: Node) {
        let src = self.src;
        let scope = self.scope_at(node.start_byte());
        if node.kind() == "import_statement" {
            for n in named_children(node) {
                match n.kind() {
                    "dotted_name" => {
                        let full = text(n, src).to_string();
                        let first = full.split('.').next().unwrap_or("").to_string();
                        self.model.imports.push(full);
                        self.scopes
                            .declare(scope, &first, Binding::Module(first.clone()), true);
                    }
                    "aliased_import" => {
                        let (Some(name), Some(alias)) = (
                            n.child_by_field_name("name"),
                            n.child_by_field_name("alias"),
                        ) else {
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
        let Some(module) = node.child_by_field_name("module_name") else {
            return;
        };
        let module = text(module, src).replace(char::is_whitespace, "");
        if !module.starts_with('.') {
            self.model.imports.push(module.clone());
        }
        let mut cursor = node.walk();
        for n in node.children_by_field_name("name", &mut cursor) {
            let (name, alias) = match n.kind() {
                "dotted_name" => (n, n),
                "aliased_import" => match (
                    n.child_by_field_name("name"),
                    n.child_by_field_name("alias"),
                ) {
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

    fn assignment(&mut self, node: Node) {
        let Some(left) = node.child_by_field_name("left") else {
            return;
        };
        let right = node.child_by_field_name("right");
        let ty = node.child_by_field_name("type");
        let scope = self.scope_at(node.start_byte());
        let class_body = self.class_body_at(node.start_byte());
        // `a, b = x.get("a"), x.get("b")`: each name gets its own value.
        if let Some(r) = right.filter(|r| matches!(r.kind(), "expression_list" | "tuple")) {
            if matches!(left.kind(), "pattern_list" | "tuple_pattern" | "tuple")
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

    fn bind_target(
        &mut self,
        left: Node,
        binding: Binding,
        scope: Option<FnId>,
        class_body: Option<usize>,
    ) {
        let src = self.src;
        match left.kind() {
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
                let (Some(obj), Some(attr)) = (
                    left.child_by_field_name("object"),
                    left.child_by_field_name("attribute"),
                ) else {
                    return;
                };
                if obj.kind() != "identifier" {
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
    fn value_binding(&self, value: Node, scope: Option<FnId>) -> Binding {
        if let Some(path) = guards::input_path(self, value, scope) {
            return Binding::Input(path);
        }
        let mut v = value;
        for _ in 0..16 {
            match v.kind() {
                "await" | "parenthesized_expression" => match v.named_child(0) {
                    Some(c) => v = c,
                    None => return Binding::Value,
                },
                "binary_operator" => {
                    // `EXPORT_DIR / name` is still a path.
                    let op = v.child_by_field_name("operator").map(|o| text(o, self.src));
                    match (op, v.child_by_field_name("left")) {
                        (Some("/"), Some(l)) => v = l,
                        _ => return Binding::Value,
                    }
                }
                "call" => {
                    let Some(f) = v.child_by_field_name("function") else {
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
                        let callable = v.child_by_field_name("arguments").and_then(|a| {
                            named_children(a)
                                .filter(|c| c.kind() != "keyword_argument")
                                .nth(i)
                        });
                        if let Some(c) =
                            callable.filter(|c| matches!(c.kind(), "identifier" | "attribute"))
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
    fn with_item(&mut self, node: Node) {
        let Some(value) = node.child_by_field_name("value") else {
            return;
        };
        if value.kind() != "as_pattern" {
            return;
        }
        let (Some(expr), Some(alias)) = (value.named_child(0), value.child_by_field_name("alias"))
        else {
            return;
        };
        let scope = self.scope_at(node.start_byte());
        let binding = self.value_binding(expr, scope);
        for target in named_children(alias) {
            self.bind_target(target, binding.clone(), scope, None);
        }
    }

    fn for_statement(&mut self, node: Node) {
        let (Some(left), Some(right)) = (
            node.child_by_field_name("left"),
            node.child_by_field_name("right"),
        ) else {
            return;
        };
        let scope = self.scope_at(node.start_byte());
        let binding = match guards::input_path(self, right, scope) {
            Some(p) => Binding::Input(format!("{p}[]")),
            None => Binding::Value,
        };
        self.bind_target(left, binding, scope, None);
    }

    fn finish(mut self, path: &Path) -> FileModel {
        let view = View {
            scopes: &self.scopes,
            functions: &self.model.functions,
            classes: &self.classes,
            calls: &self.callees,
            node_call: &self.node_call,
            returns: &self.returns,
        };
        let mut resolved = Vec::with_capacity(self.callees.len());
        for e in &self.callees {
            resolved.push(view.resolve(e));
        }
        for (id, r) in resolved.into_iter().enumerate() {
            let receiver_call = match self.callees[id].root {
                Root::Call(n) => self.node_call.get(&n).copied(),
                _ => None,
            };
            let call = &mut self.model.calls[id];
            call.receiver_call = receiver_call;
            call.returns_promise = match r.target {
                Some(Target::Local(f)) => self.model.functions[f].returns_task,
                _ => false,
            };
            call.target = r.target;
            call.callee = r.name.or_else(|| {
                // A loop the file does not show the origin of still only runs coroutines.
                (call.method() == "run_until_complete")
                    .then(|| "asyncio.AbstractEventLoop.run_until_complete".to_string())
            });
        }
        // A local that the function returns hands the result to its caller.
        for (call, scope, name) in std::mem::take(&mut self.assigned) {
            if self.returned.contains(&(scope, name)) {
                self.model.calls[call].result = if scope.is_some_and(|f| self.memoized.contains(&f))
                {
                    Use::Stored
                } else {
                    Use::Returned
                };
            }
        }
        frameworks::finish(&mut self, path);
        for (id, f) in self.model.functions.iter().enumerate() {
            let Some(name) = &f.name else { continue };
            if f.parent.is_some() {
                continue;
            }
            let export = match self.fn_class.get(&id) {
                None => name.clone(),
                Some(&c) => format!("{}.{name}", self.classes[c].name),
            };
            self.model.exports.push(Export {
                name: export,
                function: id,
            });
        }
        self.model
    }

    fn view(&self) -> View<'_> {
        View {
            scopes: &self.scopes,
            functions: &self.model.functions,
            classes: &self.classes,
            calls: &self.callees,
            node_call: &self.node_call,
            returns: &self.returns,
        }
    }

    /// The function an argument refers to, if the file defines it.
    fn function_of(&self, arg: &Arg) -> Option<FnId> {
        match arg {
            Arg::Func(node) => self.node_fn.get(node).copied(),
            Arg::Ref(e) => match self.view().resolve(e).target {
                Some(Target::Local(f)) => Some(f),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The local name a call's result is assigned to: `x = f()`, `x = await f()`, `with f() as x`.
fn assigned_name(call: Node, ancestors: &[Node], src: &str) -> Option<String> {
    let mut child = call;
    for &p in ancestors.iter().rev().take(8) {
        match p.kind() {
            "await" | "parenthesized_expression" | "conditional_expression" => {}
            "assignment" => {
                let left = p.child_by_field_name("left")?;
                return (p.child_by_field_name("right") == Some(child)
                    && left.kind() == "identifier")
                    .then(|| text(left, src).to_string());
            }
            "as_pattern" => {
                let alias = p.child_by_field_name("alias")?.named_child(0)?;
                return (alias.kind() == "identifier").then(|| text(alias, src).to_string());
            }
            _ => return None,
        }
        child = p;
    }
    None
}

/// `(call, positional index, keyword)` when `node` (with these ancestors) is an argument.
fn argument_of<'t>(
    node: Node<'t>,
    ancestors: &[Node<'t>],
    src: &str,
) -> Option<(Node<'t>, usize, Option<String>)> {
    let mut up = ancestors.iter().rev().copied();
    let p = up.next()?;
    let (list, keyword) = if p.kind() == "keyword_argument" {
        (
            up.next()?,
            p.child_by_field_name("name")
                .map(|n| text(n, src).to_string()),
        )
    } else {
        (p, None)
    };
    if list.kind() != "argument_list" {
        return None;
    }
    let call = up.next()?;
    let index = named_children(list)
        .filter(|c| c.kind() != "keyword_argument" && c.kind() != "comment")
        .position(|c| c.id() == node.id())
        .unwrap_or(usize::MAX);
    Some((call, index, keyword))
}

/// Split a callee into its root and attribute names: `a.b.c` -> (a, [b, c]). Subscripts are
/// looked through (`client["db"]["users"].find` has the type of `client`).
fn decompose(node: Node, src: &str) -> (Root, Vec<String>) {
    let mut members = Vec::new();
    let mut node = node;
    let mut root = Root::Other;
    for _ in 0..64 {
        match node.kind() {
            "attribute" => {
                let (Some(attr), Some(obj)) = (
                    node.child_by_field_name("attribute"),
                    node.child_by_field_name("object"),
                ) else {
                    break;
                };
                members.push(text(attr, src).to_string());
                node = obj;
            }
            "identifier" => {
                root = Root::Ident(text(node, src).to_string());
                break;
            }
            "subscript" => match node.child_by_field_name("value") {
                Some(v) => node = v,
                None => break,
            },
            "parenthesized_expression" | "await" => match node.named_child(0) {
                Some(c) => node = c,
                None => break,
            },
            "call" => {
                root = Root::Call(node.id());
                break;
            }
            // `(DATA / name).read_text()`: a path joined to a path is a path.
            "binary_operator"
                if node
                    .child_by_field_name("operator")
                    .is_some_and(|o| text(o, src) == "/") =>
            {
                match node.child_by_field_name("left") {
                    Some(l) => node = l,
                    None => break,
                }
            }
            _ => break,
        }
    }
    members.reverse();
    (root, members)
}

/// The callee as written, receiver calls shown as `()`: `SignupSchema().load`.
fn callee_text(node: Node, src: &str, depth: u32) -> String {
    let (root, members) = decompose(node, src);
    let mut s = match root {
        Root::Ident(n) => n,
        Root::Call(_) => {
            let mut inner = node;
            // Find the receiver call to abbreviate its callee.
            for _ in 0..64 {
                match inner.kind() {
                    "attribute" => match inner.child_by_field_name("object") {
                        Some(o) => inner = o,
                        None => break,
                    },
                    "subscript" => match inner.child_by_field_name("value") {
                        Some(o) => inner = o,
                        None => break,
                    },
                    "parenthesized_expression" | "await" => match inner.named_child(0) {
                        Some(o) => inner = o,
                        None => break,
                    },
                    _ => break,
                }
            }
            let f = inner
                .child_by_field_name("function")
                .filter(|_| depth < 3)
                .map(|f| callee_text(f, src, depth + 1))
                .unwrap_or_default();
            format!("{f}()")
        }
        Root::Other => {
            if members.is_empty() {
                return text(node, src).chars().take(80).collect();
            }
            "(…)".to_string()
        }
    };
    for m in &members {
        s.push('.');
        s.push_str(m);
    }
    s
}

/// The class an annotation names: `Optional[Foo]`, `Foo | None`, `"Foo"`, `Annotated[Foo, ...]`.
fn annotation_chain(node: Node, src: &str) -> Option<(Root, Vec<String>)> {
    let mut n = node;
    for _ in 0..16 {
        match n.kind() {
            "type" | "parenthesized_expression" => n = n.named_child(0)?,
            "identifier" | "attribute" => {
                let (root, members) = decompose(n, src);
                return Some((root, members));
            }
            "generic_type" | "subscript" => {
                let head = n.named_child(0)?;
                let name = last_segment(text(head, src));
                if matches!(name, "Optional" | "Union" | "Annotated") {
                    let params = if n.kind() == "generic_type" {
                        named_children(n).find(|c| c.kind() == "type_parameter")?
                    } else {
                        n
                    };
                    n = named_children(params).find(|c| c.id() != head.id())?;
                } else {
                    n = head;
                }
            }
            "binary_operator" => {
                let left = n.child_by_field_name("left")?;
                n = if left.kind() == "none" {
                    n.child_by_field_name("right")?
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

fn last_segment(s: &str) -> &str {
    s.rsplit('.').next().unwrap_or(s).trim()
}

fn named_children<'t>(node: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    (0..node.named_child_count()).filter_map(move |i| node.named_child(i))
}
