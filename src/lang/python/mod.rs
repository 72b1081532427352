//! The Python front-end: one pre-order pass over the tree records functions, classes, bindings,
//! calls, decorators and guards; names are resolved once the whole file is seen (a module-level
//! function may be defined below the handler that calls it).

mod bindings;
mod calls;
mod frameworks;
mod guards;
mod roles;
mod scope;

use crate::lang::kind_of;
use std::collections::{HashMap, HashSet};
use std::path::Path;

use tree_sitter::Node;

use crate::lang::field;

pub(super) use super::named_children;
use super::{count_errors, text, walk_with_ancestors, Visitor};
use crate::model::{Export, FileModel, FnId, Function, Role, Runs, Span, Target, Use};
use bindings::annotation_chain;
use calls::decompose;
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

pub fn lower(root: Node, source: &str, path: &Path, extra_handlers: &[String]) -> FileModel {
    let mut l = Lowerer {
        extra_handlers,
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
        !matches!(kind, "comment" | "string_content")
    }
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
    /// `[extend] handlers`: decorators a team's own code registers handlers with.
    extra_handlers: &'s [String],
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
        match kind_of(node) {
            "function_definition" | "lambda" => self.function(node),
            "class_definition" => self.class(node),
            "call" => self.call(node),
            "import_statement" | "import_from_statement" => self.import(node),
            "assignment" => self.assignment(node),
            "global_statement" | "nonlocal_statement" => {
                if let Some(f) = self.scope_at(start) {
                    let names: Vec<String> = named_children(node)
                        .filter(|c| kind_of(c) == "identifier")
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
                if kind_of(node) == "yield" {
                    if let Some(f) = scope {
                        // An async generator: calling it without `await` is how it is used.
                        self.model.functions[f].returns_task = false;
                    }
                }
                for c in named_children(node) {
                    let names: Vec<Node> = if kind_of(c) == "identifier" {
                        vec![c]
                    } else if matches!(kind_of(c), "expression_list" | "tuple") {
                        named_children(c)
                            .filter(|n| kind_of(n) == "identifier")
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
        let is_lambda = kind_of(node) == "lambda";
        let parent = self.scope_at(node.start_byte());
        let class = if is_lambda {
            None
        } else {
            self.class_body_at(node.start_byte())
        };
        let is_async = !is_lambda
            && (0..node.child_count())
                .filter_map(|i| node.child(i))
                .take_while(|c| kind_of(c) != "def")
                .any(|c| kind_of(c) == "async");
        let name = field(node, "name").map(|n| text(n, src).to_string());
        let params = field(node, "parameters");
        let body = field(node, "body");
        let head_end = params
            .map(|p| p.end_byte())
            .or(body.map(|b| b.start_byte()))
            .unwrap_or(node.end_byte());
        // A callback: the call it is handed to decides where it runs.
        let mut passed_to = None;
        let mut runs = if is_lambda { Runs::Inline } else { Runs::Own };
        if let Some((call, index, keyword)) = argument_of(node, &self.parents, src) {
            if let Some(callee) = field(call, "function") {
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
            .filter(|p| kind_of(p) == "decorated_definition");
        let mut is_static = false;
        if let Some(d) = decorated {
            for dec in named_children(d).filter(|c| kind_of(c) == "decorator") {
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
        if let Some((root, members)) =
            field(node, "return_type").and_then(|t| annotation_chain(t, src))
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
        let (callee, call) = if kind_of(expr) == "call" {
            match field(expr, "function") {
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

    fn class(&mut self, node: Node<'t>) {
        let src = self.src;
        let scope = self.scope_at(node.start_byte());
        let outer_class = self.class_body_at(node.start_byte());
        let name = field(node, "name").map_or("", |n| text(n, src)).to_string();
        let bases = field(node, "superclasses")
            .map(|s| {
                named_children(s)
                    .filter(|b| matches!(kind_of(b), "identifier" | "attribute"))
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
            .filter(|p| kind_of(p) == "decorated_definition")
        {
            for dec in named_children(d).filter(|c| kind_of(c) == "decorator") {
                self.decorator(dec, Decorated::Class(idx), scope);
            }
        }
        let body_start = field(node, "body").map_or(node.end_byte(), |b| b.start_byte());
        self.class_stack.push((idx, body_start, node.end_byte()));
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

/// `(call, positional index, keyword)` when `node` (with these ancestors) is an argument.
fn argument_of<'t>(
    node: Node<'t>,
    ancestors: &[Node<'t>],
    src: &str,
) -> Option<(Node<'t>, usize, Option<String>)> {
    let mut up = ancestors.iter().rev().copied();
    let p = up.next()?;
    let (list, keyword) = if kind_of(p) == "keyword_argument" {
        (
            up.next()?,
            field(p, "name").map(|n| text(n, src).to_string()),
        )
    } else {
        (p, None)
    };
    if kind_of(list) != "argument_list" {
        return None;
    }
    let call = up.next()?;
    let index = named_children(list)
        .filter(|c| kind_of(c) != "keyword_argument" && kind_of(c) != "comment")
        .position(|c| c.id() == node.id())
        .unwrap_or(usize::MAX);
    Some((call, index, keyword))
}

fn last_segment(s: &str) -> &str {
    s.rsplit('.').next().unwrap_or(s).trim()
}
