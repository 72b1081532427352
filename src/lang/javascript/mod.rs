//! The JavaScript/TypeScript front-end: one pre-order pass over the tree records functions,
//! bindings, calls, registrations and guards; names are resolved once the whole file is seen
//! (function declarations are hoisted, imports may come last).

pub mod aliases;
mod frameworks;
mod guards;
mod scope;

use crate::lang::kind_of;
use std::collections::HashMap;
use std::path::Path;

use tree_sitter::Node;

use crate::lang::field;

use super::LowerContext;
use super::{count_errors, named_children, text, unquote, walk_with_ancestors, Visitor};
use crate::model::{Call, Export, FileModel, FnId, Function, Role, Runs, Span, Use};
use scope::{Binding, Root, Scopes};

/// Array methods that call their callback before returning: the callback runs inline.
const INLINE_CALLBACK_METHODS: &[&str] = &[
    "map",
    "forEach",
    "filter",
    "reduce",
    "reduceRight",
    "some",
    "every",
    "find",
    "findIndex",
    "findLast",
    "flatMap",
    "sort",
];

pub fn lower(root: Node, source: &str, path: &Path, cx: &LowerContext) -> FileModel {
    let mut l = Lowerer {
        path,
        cx,
        parents: Vec::new(),
        src: source,
        model: FileModel::default(),
        scopes: Scopes::default(),
        fn_stack: Vec::new(),
        try_stack: Vec::new(),
        class_stack: Vec::new(),
        lazy_stack: Vec::new(),
        node_fn: HashMap::new(),
        node_call: HashMap::new(),
        assigned_from_call: Vec::new(),
        kept_locals: Vec::new(),
        returned_locals: Vec::new(),
        catching: Default::default(),
        pending_calls: Vec::new(),
        pending_regs: Vec::new(),
        pending_exports: Vec::new(),
    };
    l.model.parse_errors = count_errors(root);
    walk_with_ancestors(root, &mut l);
    l.finish(path)
}

impl<'s, 't> Visitor<'t> for Lowerer<'s, 't> {
    fn visit(&mut self, node: Node<'t>) {
        Lowerer::visit(self, node);
    }

    fn ancestors(&mut self) -> &mut Vec<Node<'t>> {
        &mut self.parents
    }

    fn descend(&self, kind: &str) -> bool {
        !opaque(kind)
    }
}

/// Calls that keep their argument beyond the current call: DI containers and app decorations.
const KEEPING_METHODS: &[&str] = &[
    "asValue",
    "asFunction",
    "decorate",
    "provide",
    "register",
    "registerInstance",
    "set",
    "setGlobal",
    "bind",
];

/// Subtrees that hold nothing the model records (types, literals, comments, signatures without a
/// body, imports read at their root): the walk does not descend into them.
fn opaque(kind: &str) -> bool {
    kind.ends_with("_type")
        || matches!(
            kind,
            "comment"
                | "string"
                | "regex"
                | "number"
                | "type_annotation"
                | "type_arguments"
                | "type_parameters"
                | "interface_declaration"
                | "type_alias_declaration"
                | "import_statement"
                | "method_signature"
                | "property_signature"
                | "abstract_method_signature"
                | "function_signature"
                | "index_signature"
                | "jsx_text"
        )
}

/// What a call's callee resolves through once every binding is known.
struct PendingCall {
    scope: Option<FnId>,
    root: Root,
    members: Vec<String>,
    receiver_node: Option<usize>,
    /// `(async () => { ... })()`: the function called in place.
    called_in_place: Option<usize>,
}

/// A function-valued argument of a registration, resolved at the end.
struct PendingReg {
    scope: Option<FnId>,
    span: Span,
    handler: HandlerRef,
    route: String,
    wrapped: bool,
    validated: bool,
    middleware: Vec<String>,
    /// The target is a plugin that runs once at registration.
    startup: bool,
    /// The framework when the registration itself says it (`http.createServer`).
    framework: Option<&'static str>,
}

enum HandlerRef {
    Node(usize),
    Name(Root, Vec<String>),
}

pub(super) struct Lowerer<'s, 't> {
    path: &'s Path,
    cx: &'s LowerContext,
    /// The ancestors of the node being visited, innermost last (`Node::parent` is O(depth)).
    parents: Vec<Node<'t>>,
    src: &'s str,
    model: FileModel,
    scopes: Scopes,
    /// Enclosing functions with the byte where each ends.
    fn_stack: Vec<(FnId, usize)>,
    /// `try` bodies that have a `catch`: (start, end, function).
    try_stack: Vec<(usize, usize, Option<FnId>)>,
    /// Enclosing classes with the byte where each ends.
    class_stack: Vec<(String, usize)>,
    /// Branches that initialize an outer variable once (`if (!pool) { pool = ... }`).
    lazy_stack: Vec<(usize, usize)>,
    node_fn: HashMap<usize, FnId>,
    node_call: HashMap<usize, usize>,
    /// Locals initialized from a call: (call node, function, name).
    assigned_from_call: Vec<(usize, Option<FnId>, String)>,
    /// Locals handed to something that outlives the call: a DI container (`asValue(x)`,
    /// `fastify.decorate('db', x)`) or a field (`this.db = x`).
    kept_locals: Vec<(Option<FnId>, String)>,
    /// Locals a function returns (`return pool;`): its callers decide how long they live.
    returned_locals: Vec<(Option<FnId>, String)>,
    /// Functions with a `try`/`catch` of their own.
    catching: std::collections::HashSet<FnId>,
    pending_calls: Vec<PendingCall>,
    pending_regs: Vec<PendingReg>,
    /// (export name, local name or function node)
    pending_exports: Vec<(String, HandlerRef, Option<FnId>)>,
}

impl<'s, 't> Lowerer<'s, 't> {
    /// An import binding; a module a tsconfig path alias maps into the tree gets its file.
    fn module_binding(&self, spec: &str, export: Option<&str>) -> Binding {
        let mut binding = Binding::module(spec, export);
        if !spec.starts_with('.') {
            if let Binding::Module { file, .. } = &mut binding {
                *file = self.cx.aliases.resolve(self.path, spec);
            }
        }
        binding
    }

    /// The `k`-th ancestor of the node being visited (0: its parent).
    fn ancestor(&self, k: usize) -> Option<Node<'t>> {
        self.parents.iter().rev().nth(k).copied()
    }

    fn current_fn(&self) -> Option<FnId> {
        self.fn_stack.last().map(|&(id, _)| id)
    }

    fn current_class(&self) -> Option<&str> {
        self.class_stack.last().map(|(c, _)| c.as_str())
    }

    fn visit(&mut self, node: Node<'t>) {
        let start = node.start_byte();
        while self.fn_stack.last().is_some_and(|&(_, end)| end <= start) {
            self.fn_stack.pop();
        }
        while self
            .try_stack
            .last()
            .is_some_and(|&(_, end, _)| end <= start)
        {
            self.try_stack.pop();
        }
        while self
            .class_stack
            .last()
            .is_some_and(|&(_, end)| end <= start)
        {
            self.class_stack.pop();
        }
        while self.lazy_stack.last().is_some_and(|&(_, end)| end <= start) {
            self.lazy_stack.pop();
        }
        if !node.is_named() {
            return;
        }
        match kind_of(node) {
            "function_declaration"
            | "generator_function_declaration"
            | "function_expression"
            | "function"
            | "generator_function"
            | "arrow_function"
            | "method_definition" => self.function(node),
            "class_declaration" | "class" | "abstract_class_declaration" => {
                let name = field(node, "name").map_or("", |n| text(n, self.src));
                self.class_stack.push((name.to_string(), node.end_byte()));
                self.scopes.declare(
                    self.current_fn(),
                    name,
                    Binding::Class(name.to_string()),
                    kind_of(node) != "class",
                );
            }
            // `private readonly users: UsersService;`
            "public_field_definition" | "field_definition" => {
                if let (Some(class), Some(n), Some(ty)) = (
                    self.current_class().map(str::to_string),
                    field(node, "name").or_else(|| field(node, "property")),
                    field(node, "type").and_then(|t| type_name(t, self.src)),
                ) {
                    self.scopes.set_field_type(&class, text(n, self.src), ty);
                }
            }
            "call_expression" | "new_expression" => self.call(node),
            "import_statement" => self.import(node),
            "variable_declarator" => self.declarator(node),
            "assignment_expression" => self.assignment(node),
            "export_statement" => self.export(node),
            "await_expression" => self.await_expr(node),
            "throw_statement" | "return_statement" => self.may_reject(node),
            "try_statement" => {
                if let (Some(body), Some(_)) = (field(node, "body"), field(node, "handler")) {
                    self.try_stack
                        .push((body.start_byte(), body.end_byte(), self.current_fn()));
                    if let Some(f) = self.current_fn() {
                        self.catching.insert(f);
                    }
                }
            }
            "if_statement" => {
                if let Some(range) = guards::lazy_init_branch(self, node) {
                    self.lazy_stack.push(range);
                }
                guards::if_statement(self, node)
            }
            _ => {}
        }
    }

    fn function(&mut self, node: Node) {
        let src = self.src;
        let parent = self.current_fn();
        let is_async = (0..node.child_count())
            .filter_map(|i| node.child(i))
            .take_while(|c| kind_of(c) != "formal_parameters" && kind_of(c) != "identifier")
            .any(|c| kind_of(c) == "async");
        let params = field(node, "parameters").or_else(|| field(node, "parameter"));
        let body = field(node, "body");
        let head_end = params
            .map(|p| p.end_byte())
            .or(body.map(|b| b.start_byte()))
            .unwrap_or(node.end_byte());
        let mut name = field(node, "name").map(|n| text(n, src).to_string());
        let container = self
            .parents
            .iter()
            .rev()
            .find(|p| {
                !matches!(
                    kind_of(*p),
                    "parenthesized_expression" | "as_expression" | "satisfies_expression"
                )
            })
            .copied();
        if name.is_none() {
            name = container.and_then(|c| match kind_of(c) {
                "variable_declarator" | "public_field_definition" | "field_definition" => {
                    field(c, "name")
                        .or_else(|| field(c, "property"))
                        .map(|n| text(n, src).to_string())
                }
                "pair" => field(c, "key").map(|n| unquote(text(n, src)).to_string()),
                "assignment_expression" => {
                    field(c, "left").map(|n| last_segment(text(n, src)).to_string())
                }
                _ => None,
            });
        }
        // A callback: which call it is handed to, and whether that call runs it inline.
        let mut passed_to = None;
        let mut runs = Runs::Own;
        // `new Promise((async (resolve) => ...))`: parentheses do not change whose argument it is.
        let wrapped = self
            .parents
            .iter()
            .rev()
            .take_while(|p| kind_of(**p) == "parenthesized_expression")
            .count();
        if self
            .ancestor(wrapped)
            .is_some_and(|p| kind_of(p) == "arguments")
        {
            if let Some(call) = self.ancestor(wrapped + 1) {
                let callee = field(call, "function").or_else(|| field(call, "constructor"));
                if let Some(callee) = callee {
                    let method = last_segment(text(callee, src)).to_string();
                    if INLINE_CALLBACK_METHODS.contains(&method.as_str()) {
                        runs = Runs::Inline;
                    }
                    passed_to = Some(if kind_of(call) == "new_expression" {
                        format!("new {}", text(callee, src))
                    } else {
                        method
                    });
                }
            }
        }
        let class = if kind_of(node) == "method_definition" {
            self.current_class().map(str::to_string)
        } else {
            None
        };
        let role = match (kind_of(node), name.as_deref()) {
            (
                "method_definition",
                Some("constructor" | "onModuleInit" | "onApplicationBootstrap"),
            ) => Role::Startup,
            _ => Role::Plain,
        };
        let returns_task = is_async
            || field(node, "return_type").is_some_and(|t| {
                text(t, src)
                    .trim_start_matches([':', ' '])
                    .starts_with("Promise<")
            });
        let id = self.model.functions.len();
        self.model.functions.push(Function {
            name: name.clone(),
            span: Span::new(node.start_byte(), node.end_byte()),
            head: Span::new(node.start_byte(), head_end),
            is_async,
            returns_task,
            parent,
            role,
            runs,
            awaits_outside_try: false,
            // Until an await, throw or returned call outside try/catch says otherwise.
            body_guarded: is_async && body.is_some_and(|b| kind_of(b) == "statement_block"),
            passed_to,
            class,
            async_void: false,
        });
        self.node_fn.insert(node.id(), id);
        // The function's own name is visible where it is declared.
        if let Some(n) = &name {
            match kind_of(node) {
                "function_declaration" | "generator_function_declaration" => {
                    self.scopes.declare(parent, n, Binding::Function(id), true)
                }
                _ if container.is_some_and(|c| kind_of(c) == "variable_declarator") => {
                    self.scopes.declare(parent, n, Binding::Function(id), true)
                }
                _ => {}
            }
        }
        // `const getRoom = asyncHandler(async (req, res) => ...)`, `const plugin = fp(async (f) => ...)`:
        // the name stands for the wrapped function.
        if let (Some(args), Some(call), Some(decl)) =
            (self.ancestor(0), self.ancestor(1), self.ancestor(2))
        {
            let first = args.named_child(0).is_some_and(|a| a.id() == node.id());
            if kind_of(args) == "arguments"
                && kind_of(call) == "call_expression"
                && kind_of(decl) == "variable_declarator"
                && first
            {
                if let Some(n) = field(decl, "name").filter(|n| kind_of(n) == "identifier") {
                    self.scopes
                        .declare(parent, text(n, src), Binding::Function(id), true);
                }
            }
        }
        self.fn_stack.push((id, node.end_byte()));
        if let Some(params) = params {
            self.parameters(id, params);
        }
        frameworks::function_role(self, node, id);
    }

    /// Parameters shadow imports; decorated ones (`@Body() dto`) are request input.
    fn parameters(&mut self, id: FnId, params: Node) {
        let src = self.src;
        if kind_of(params) == "identifier" {
            self.scopes
                .declare(Some(id), text(params, src), Binding::Value, false);
            return;
        }
        let mut names = Vec::new();
        for p in named_children(params) {
            let decorator = named_children(p)
                .find(|c| kind_of(c) == "decorator")
                .map(|d| text(d, src).trim_start_matches('@').to_string());
            let pattern = field(p, "pattern")
                .or_else(|| field(p, "left"))
                .unwrap_or(p);
            // `constructor(private readonly users: UsersService)`: a field with a type.
            let is_property = named_children(p)
                .any(|c| matches!(kind_of(c), "accessibility_modifier" | "readonly"))
                || (0..p.child_count())
                    .filter_map(|i| p.child(i))
                    .any(|c| kind_of(c) == "readonly");
            if is_property && kind_of(pattern) == "identifier" {
                let class = self.current_class().map(str::to_string);
                let ty = field(p, "type").and_then(|t| type_name(t, src));
                if let (Some(class), Some(ty)) = (class, ty) {
                    self.scopes.set_field_type(&class, text(pattern, src), ty);
                }
            }
            let mut idents = Vec::new();
            pattern_names(pattern, src, &mut idents);
            for n in idents {
                let binding = match decorator
                    .as_deref()
                    .map(|d| d.split('(').next().unwrap_or(d))
                {
                    Some(d @ ("Body" | "Query" | "Param" | "Headers")) => {
                        Binding::Input(format!("@{d}"))
                    }
                    _ => Binding::Value,
                };
                names.push(n.clone());
                self.scopes.declare(Some(id), &n, binding, false);
            }
        }
        self.scopes.set_params(id, names);
    }

    fn call(&mut self, node: Node) {
        let src = self.src;
        let construct = kind_of(node) == "new_expression";
        let Some(callee) = field(node, "function").or_else(|| field(node, "constructor")) else {
            return;
        };
        let args = field(node, "arguments");
        let (root, members, receiver_node) = scope::decompose(callee, src);
        let first = args.and_then(|a| a.named_child(0));
        let first_arg = first.map(|f| {
            let t = text(f, src);
            let t = if matches!(kind_of(f), "string" | "template_string") {
                unquote(t)
            } else {
                t
            };
            t.chars().take(120).collect::<String>()
        });
        let arg_count = args.map_or(0, |a| a.named_child_count() as u32);
        let callback_arg = args
            .and_then(|a| a.named_child(a.named_child_count().saturating_sub(1)))
            .is_some_and(|last| match kind_of(last) {
                // A Node-style callback takes the error first: `(err, rows) => ...`.
                "function_expression" | "function" | "arrow_function" => {
                    let params = field(last, "parameters").or_else(|| field(last, "parameter"));
                    let first = params.and_then(|p| {
                        if kind_of(p) == "identifier" {
                            Some(p)
                        } else {
                            p.named_child(0)
                        }
                    });
                    first.is_some_and(|p| matches!(text(p, src), "err" | "error" | "e" | "er"))
                }
                "identifier" => matches!(text(last, src), "callback" | "cb" | "next" | "done"),
                _ => false,
            });
        let id = self.model.calls.len();
        let in_place = skip_wrappers_down(callee);
        let called_in_place = matches!(
            kind_of(in_place),
            "arrow_function" | "function_expression" | "function"
        )
        .then(|| in_place.id());
        let call_text = if called_in_place.is_some() {
            "(function called in place)".to_string()
        } else {
            scope::text_of(callee, &root, &members, src, 0)
        };
        self.model.calls.push(Call {
            span: Span::new(callee.start_byte(), node.end_byte()),
            in_fn: self.current_fn(),
            callee: None,
            text: call_text,
            construct,
            // TypeScript parses `await f<T>(x)` as a call of `await f`.
            result: if kind_of(callee) == "await_expression" {
                Use::Awaited
            } else {
                self.result_use(node)
            },
            target: None,
            lazy_init: self
                .lazy_stack
                .iter()
                .any(|&(s, e)| s <= node.start_byte() && node.end_byte() <= e),
            first_arg,
            arg_count,
            callback_arg,
            receiver_call: None,
            returns_promise: false,
        });
        self.node_call.insert(node.id(), id);
        self.pending_calls.push(PendingCall {
            scope: self.current_fn(),
            root,
            members,
            receiver_node,
            called_in_place,
        });
        if let Some(args) = args {
            let method = last_segment(text(callee, src));
            if KEEPING_METHODS.contains(&method) {
                for a in named_children(args).filter(|a| kind_of(a) == "identifier") {
                    self.kept_locals
                        .push((self.current_fn(), text(a, src).to_string()));
                }
            }
        }
        if !construct {
            frameworks::registration(self, node, callee, args);
            guards::assert_call(self, node, callee, args);
        }
    }

    /// What the code around a call does with its result.
    fn result_use(&self, node: Node) -> Use {
        let mut child = node;
        for p in self.parents.iter().rev().copied() {
            match kind_of(p) {
                "parenthesized_expression"
                | "as_expression"
                | "non_null_expression"
                | "satisfies_expression"
                | "type_assertion"
                | "ternary_expression" => {}
                "binary_expression" => {
                    let op = field(p, "operator").map(kind_of);
                    if !matches!(op, Some("||" | "??" | "&&")) {
                        return Use::Other;
                    }
                }
                // `return await connect()` hands the result to the caller like `return connect()`.
                "await_expression" => {
                    let outer = self
                        .parents
                        .iter()
                        .rev()
                        .skip_while(|a| a.id() != p.id())
                        .nth(1);
                    return match outer.map(kind_of) {
                        Some("return_statement" | "arrow_function") => Use::Returned,
                        _ => Use::Awaited,
                    };
                }
                "return_statement" | "arrow_function" => return Use::Returned,
                "expression_statement" => return Use::Discarded,
                "unary_expression" => {
                    let op = field(p, "operator").map(|o| text(o, self.src));
                    return if op == Some("void") {
                        Use::Voided
                    } else {
                        Use::Other
                    };
                }
                "member_expression" => {
                    return if field(p, "object") == Some(child) {
                        Use::Chained
                    } else {
                        Use::Other
                    }
                }
                "variable_declarator" => {
                    return if self.current_fn().is_none() {
                        Use::Stored
                    } else {
                        Use::Assigned
                    }
                }
                "assignment_expression" | "augmented_assignment_expression" => {
                    let left = field(p, "left");
                    return match left {
                        Some(l) if kind_of(l) == "identifier" => {
                            if self
                                .scopes
                                .declared_in(self.current_fn(), text(l, self.src))
                            {
                                Use::Assigned
                            } else {
                                Use::Stored
                            }
                        }
                        Some(_) => Use::Stored,
                        None => Use::Other,
                    };
                }
                "arguments" | "array" | "pair" | "spread_element" => return Use::Argument,
                "public_field_definition" | "field_definition" => return Use::Stored,
                _ => return Use::Other,
            }
            child = p;
        }
        Use::Other
    }

    /// The current function when `node` is not inside one of its `try` bodies with a `catch`.
    fn uncovered(&self, node: Node) -> Option<FnId> {
        let f = self.current_fn()?;
        let (start, end) = (node.start_byte(), node.end_byte());
        let covered = self
            .try_stack
            .iter()
            .any(|&(s, e, tf)| tf == Some(f) && s <= start && end <= e);
        (!covered).then_some(f)
    }

    /// `throw`, or `return <call>`, outside try/catch: the async function can reject.
    fn may_reject(&mut self, node: Node) {
        let returns_call = kind_of(node) != "return_statement"
            || node.named_child(0).is_some_and(|v| {
                matches!(
                    skip_wrappers_down(v).kind(),
                    "call_expression" | "await_expression"
                )
            });
        if returns_call {
            if let Some(f) = self.uncovered(node) {
                self.model.functions[f].body_guarded = false;
            }
        }
        // `return client;` hands a local to the caller.
        if kind_of(node) == "return_statement" {
            if let Some(v) = node.named_child(0).filter(|v| kind_of(v) == "identifier") {
                self.returned_locals
                    .push((self.current_fn(), text(v, self.src).to_string()));
            }
        }
    }

    fn await_expr(&mut self, node: Node) {
        let Some(f) = self.current_fn() else { return };
        let covered = self.uncovered(node).is_none();
        // `await x.catch(...)` handles its own rejection.
        let caught = node.named_child(0).is_some_and(|e| {
            kind_of(e) == "call_expression"
                && field(e, "function").is_some_and(|c| last_segment(text(c, self.src)) == "catch")
        });
        if !covered && !caught {
            self.model.functions[f].awaits_outside_try = true;
            self.model.functions[f].body_guarded = false;
        }
    }

    fn import(&mut self, node: Node) {
        let src = self.src;
        let Some(source) = field(node, "source") else {
            return;
        };
        let module = unquote(text(source, src)).to_string();
        self.model.imports.push(scope::normalize_module(&module));
        for clause in named_children(node).filter(|c| kind_of(c) == "import_clause") {
            for part in named_children(clause) {
                match kind_of(part) {
                    "identifier" => self.scopes.declare(
                        None,
                        text(part, src),
                        self.module_binding(&module, Some("default")),
                        true,
                    ),
                    "namespace_import" => {
                        if let Some(n) = named_children(part).find(|c| kind_of(c) == "identifier") {
                            self.scopes.declare(
                                None,
                                text(n, src),
                                self.module_binding(&module, None),
                                true,
                            );
                        }
                    }
                    "named_imports" => {
                        for spec in
                            named_children(part).filter(|c| kind_of(c) == "import_specifier")
                        {
                            let Some(name) = field(spec, "name") else {
                                continue;
                            };
                            let local = field(spec, "alias").unwrap_or(name);
                            self.scopes.declare(
                                None,
                                text(local, src),
                                self.module_binding(&module, Some(unquote(text(name, src)))),
                                true,
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn declarator(&mut self, node: Node) {
        let src = self.src;
        let Some(name) = field(node, "name") else {
            return;
        };
        let scope = self.current_fn();
        let value = field(node, "value").map(skip_wrappers_down);
        if let Some(v) = value {
            let v = if kind_of(v) == "await_expression" {
                v.named_child(0).unwrap_or(v)
            } else {
                v
            };
            if matches!(kind_of(v), "call_expression" | "new_expression")
                && kind_of(name) == "identifier"
            {
                self.assigned_from_call
                    .push((v.id(), scope, text(name, src).to_string()));
            }
        }
        // `require('x')`, `require('x').y`, `await import('x')`
        if let Some((module, member)) = value.and_then(|v| scope::required_module(v, src)) {
            self.model.imports.push(scope::normalize_module(&module));
            match kind_of(name) {
                "identifier" => self.scopes.declare(
                    scope,
                    text(name, src),
                    self.module_binding(&module, member.as_deref()),
                    true,
                ),
                "object_pattern" => {
                    for (key, local) in object_pattern_pairs(name, src) {
                        let path = match &member {
                            Some(m) => format!("{m}.{key}"),
                            None => key,
                        };
                        self.scopes.declare(
                            scope,
                            &local,
                            self.module_binding(&module, Some(&path)),
                            true,
                        );
                    }
                }
                _ => {}
            }
            return;
        }
        let input = value.and_then(|v| guards::input_path(self, v));
        match kind_of(name) {
            "identifier" => {
                let binding = match (input, value) {
                    (Some(path), _) => Binding::Input(path),
                    (None, Some(v)) if kind_of(v) == "new_expression" => field(v, "constructor")
                        .map(|c| {
                            let (root, members, _) = scope::decompose(c, src);
                            Binding::Instance(root, members)
                        })
                        .unwrap_or(Binding::Value),
                    _ => Binding::Value,
                };
                self.scopes.declare(scope, text(name, src), binding, true);
            }
            "object_pattern" | "array_pattern" => {
                let pairs = if kind_of(name) == "object_pattern" {
                    object_pattern_pairs(name, src)
                } else {
                    let mut idents = Vec::new();
                    pattern_names(name, src, &mut idents);
                    idents.into_iter().map(|n| (n.clone(), n)).collect()
                };
                for (key, local) in pairs {
                    let binding = match &input {
                        Some(path) => Binding::Input(format!("{path}.{key}")),
                        None => Binding::Value,
                    };
                    self.scopes.declare(scope, &local, binding, true);
                }
            }
            _ => {}
        }
    }

    /// `module.exports = ...`, `exports.name = ...`
    fn assignment(&mut self, node: Node) {
        let src = self.src;
        let (Some(left), Some(right)) = (field(node, "left"), field(node, "right")) else {
            return;
        };
        let left_text = text(left, src);
        if kind_of(left) == "member_expression" && kind_of(right) == "identifier" {
            self.kept_locals
                .push((self.current_fn(), text(right, src).to_string()));
        }
        let export_name = match left_text {
            "module.exports" => None,
            t if t.starts_with("module.exports.") => Some(&t["module.exports.".len()..]),
            t if t.starts_with("exports.") => Some(&t["exports.".len()..]),
            _ => return,
        };
        let right = skip_wrappers_down(right);
        match (export_name, kind_of(right)) {
            (None, "object") => {
                for prop in named_children(right) {
                    match kind_of(prop) {
                        "shorthand_property_identifier" => {
                            let n = text(prop, src).to_string();
                            self.pending_exports.push((
                                n.clone(),
                                HandlerRef::Name(Root::Ident(n), Vec::new()),
                                None,
                            ));
                        }
                        "pair" => {
                            let (Some(k), Some(v)) = (field(prop, "key"), field(prop, "value"))
                            else {
                                continue;
                            };
                            let r = handler_ref(v, src);
                            self.pending_exports
                                .push((unquote(text(k, src)).to_string(), r, None));
                        }
                        "method_definition" => {
                            if let Some(k) = field(prop, "name") {
                                self.pending_exports.push((
                                    text(k, src).to_string(),
                                    HandlerRef::Node(prop.id()),
                                    None,
                                ));
                            }
                        }
                        _ => {}
                    }
                }
            }
            (name, _) => {
                let r = handler_ref(right, src);
                self.pending_exports
                    .push((name.unwrap_or("default").to_string(), r, None));
            }
        }
    }

    /// `export function f`, `export const f = ...`, `export default ...`, `export { a as b }`
    fn export(&mut self, node: Node) {
        let src = self.src;
        let is_default = (0..node.child_count())
            .filter_map(|i| node.child(i))
            .any(|c| kind_of(c) == "default");
        if let Some(decl) = field(node, "declaration") {
            match kind_of(decl) {
                "function_declaration" | "generator_function_declaration" => {
                    let name = field(decl, "name").map(|n| text(n, src).to_string());
                    let export = if is_default {
                        "default".to_string()
                    } else {
                        name.unwrap_or_default()
                    };
                    self.pending_exports
                        .push((export, HandlerRef::Node(decl.id()), None));
                }
                "class_declaration" | "abstract_class_declaration" => {
                    if let Some(n) = field(decl, "name") {
                        let name = text(n, src).to_string();
                        let export = if is_default {
                            "default".to_string()
                        } else {
                            name.clone()
                        };
                        self.pending_exports.push((
                            export,
                            HandlerRef::Name(Root::Ident(name), Vec::new()),
                            None,
                        ));
                    }
                }
                "lexical_declaration" | "variable_declaration" => {
                    for d in named_children(decl).filter(|d| kind_of(d) == "variable_declarator") {
                        if let (Some(n), Some(v)) = (field(d, "name"), field(d, "value")) {
                            let r = handler_ref(skip_wrappers_down(v), src);
                            self.pending_exports
                                .push((text(n, src).to_string(), r, None));
                        }
                    }
                }
                _ => {}
            }
        } else if let Some(value) = field(node, "value") {
            let r = handler_ref(skip_wrappers_down(value), src);
            self.pending_exports.push(("default".to_string(), r, None));
        } else if let Some(clause) = named_children(node).find(|c| kind_of(c) == "export_clause") {
            for spec in named_children(clause).filter(|c| kind_of(c) == "export_specifier") {
                let Some(name) = field(spec, "name") else {
                    continue;
                };
                let alias = field(spec, "alias").unwrap_or(name);
                self.pending_exports.push((
                    text(alias, src).to_string(),
                    HandlerRef::Name(Root::Ident(text(name, src).to_string()), Vec::new()),
                    None,
                ));
            }
        }
    }

    /// Resolve names, registrations and exports now that every binding is known.
    fn finish(mut self, path: &Path) -> FileModel {
        for (id, pending) in self.pending_calls.iter().enumerate() {
            let resolved = self.scopes.resolve(
                pending.scope,
                &pending.root,
                &pending.members,
                &self.model.functions,
            );
            let call = &mut self.model.calls[id];
            call.callee = resolved.name;
            call.target = resolved.target.or_else(|| {
                pending
                    .called_in_place
                    .and_then(|n| self.node_fn.get(&n).copied())
                    .map(crate::model::Target::Local)
            });
            call.returns_promise = resolved.is_async;
            call.receiver_call = pending
                .receiver_node
                .and_then(|n| self.node_call.get(&n).copied());
        }
        // `this.method()` resolved to an async method, or a local async function.
        for call in &mut self.model.calls {
            if let Some(crate::model::Target::Local(f)) = call.target {
                call.returns_promise |= self.model.functions[f].returns_task;
            }
        }
        // A client assigned to a local and then handed to a container or a field is kept.
        for (node, scope, name) in &self.assigned_from_call {
            let is =
                |list: &[(Option<FnId>, String)]| list.iter().any(|(s, n)| s == scope && n == name);
            let (kept, returned) = (is(&self.kept_locals), is(&self.returned_locals));
            if let Some(&c) = self.node_call.get(node) {
                let call = &mut self.model.calls[c];
                if call.result == Use::Assigned && kept {
                    call.result = Use::Stored;
                } else if call.result == Use::Assigned && returned {
                    call.result = Use::Returned;
                }
            }
        }
        // Guarded means the author caught what can fail: a body without any try/catch is not.
        for (f, func) in self.model.functions.iter_mut().enumerate() {
            func.body_guarded &= self.catching.contains(&f);
        }
        let exports = std::mem::take(&mut self.pending_exports);
        for (name, r, _) in exports {
            if let Some(f) = self.function_of(None, &r) {
                self.model.exports.push(Export { name, function: f });
            } else if let HandlerRef::Name(Root::Ident(local), members) = &r {
                // An exported class: its methods as `Class.method`.
                if let (Some(Binding::Class(class)), []) = (
                    self.scopes.lookup(None, local, &self.model.functions),
                    members.as_slice(),
                ) {
                    for (f, func) in self.model.functions.iter().enumerate() {
                        if func.class.as_deref() == Some(class.as_str()) {
                            if let Some(m) = &func.name {
                                self.model.exports.push(Export {
                                    name: format!("{name}.{m}"),
                                    function: f,
                                });
                            }
                        }
                    }
                }
            }
        }
        frameworks::finish(&mut self, path);
        self.model
    }

    fn function_of(&self, scope: Option<FnId>, r: &HandlerRef) -> Option<FnId> {
        match r {
            HandlerRef::Node(id) => self.node_fn.get(id).copied(),
            HandlerRef::Name(root, members) => {
                match self
                    .scopes
                    .resolve(scope, root, members, &self.model.functions)
                    .target
                {
                    Some(crate::model::Target::Local(f)) => Some(f),
                    _ => None,
                }
            }
        }
    }
}

/// The class a type annotation names: `: UsersService` -> `UsersService`.
fn type_name<'s>(annotation: Node, src: &'s str) -> Option<&'s str> {
    let t = text(annotation, src).trim_start_matches(':').trim();
    let end = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(t.len());
    let name = &t[..end];
    (!name.is_empty() && name.chars().next().is_some_and(char::is_uppercase)).then_some(name)
}

fn skip_wrappers_down(mut node: Node) -> Node {
    while matches!(
        kind_of(node),
        "parenthesized_expression"
            | "as_expression"
            | "non_null_expression"
            | "satisfies_expression"
            | "type_assertion"
    ) {
        match node.named_child(0) {
            Some(c) => node = c,
            None => break,
        }
    }
    node
}

fn handler_ref(node: Node, src: &str) -> HandlerRef {
    if matches!(
        kind_of(node),
        "function_expression" | "function" | "arrow_function" | "generator_function"
    ) {
        return HandlerRef::Node(node.id());
    }
    // `export default fp(plugin)`, `module.exports = wrap(handler)`: the wrapped function.
    if kind_of(node) == "call_expression" {
        let inner = field(node, "arguments")
            .and_then(|a| named_children(a).next())
            .filter(|a| {
                matches!(
                    kind_of(a),
                    "identifier" | "function_expression" | "function" | "arrow_function"
                )
            });
        if let Some(inner) = inner {
            return handler_ref(inner, src);
        }
    }
    let (root, members, _) = scope::decompose(node, src);
    HandlerRef::Name(root, members)
}

fn last_segment(s: &str) -> &str {
    s.rsplit('.').next().unwrap_or(s).trim()
}

/// The identifiers a binding pattern declares.
fn pattern_names(node: Node, src: &str, out: &mut Vec<String>) {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match kind_of(n) {
            "identifier" | "shorthand_property_identifier_pattern" => {
                out.push(text(n, src).to_string())
            }
            "pair_pattern" => {
                if let Some(v) = field(n, "value") {
                    stack.push(v);
                }
            }
            "assignment_pattern" | "object_assignment_pattern" => {
                if let Some(l) = field(n, "left") {
                    stack.push(l);
                }
            }
            "type_annotation" | "decorator" => {}
            _ => stack.extend(named_children(n)),
        }
        if out.len() > 64 {
            return;
        }
    }
}

/// `{ a, b: c, d = 1 }` as (key, local name) pairs.
fn object_pattern_pairs(node: Node, src: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for p in named_children(node) {
        match kind_of(p) {
            "shorthand_property_identifier_pattern" => {
                let n = text(p, src).to_string();
                pairs.push((n.clone(), n));
            }
            "object_assignment_pattern" => {
                if let Some(l) = field(p, "left") {
                    let n = text(l, src).to_string();
                    pairs.push((n.clone(), n));
                }
            }
            "pair_pattern" => {
                if let (Some(k), Some(v)) = (field(p, "key"), field(p, "value")) {
                    let v = if kind_of(v) == "assignment_pattern" {
                        field(v, "left").unwrap_or(v)
                    } else {
                        v
                    };
                    if kind_of(v) == "identifier" {
                        pairs.push((unquote(text(k, src)).to_string(), text(v, src).to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    pairs
}
