//! The C# front-end: a pre-scan reads what the file declares (`using` aliases, classes, fields,
//! method return types); then one pre-order pass records functions, typed locals, calls, blocking
//! waits, registrations and guards. There is no type checker: receivers are typed from what the
//! file shows (declarations, parameters, fields, `new`, `GetRequiredService<T>()`, EF query chains),
//! and where nothing is known the callee keeps only its method name.

mod calls;
mod functions;
mod guards;
mod handlers;
mod scope;
mod syntax;
mod tasks;
mod types;

use crate::lang::kind_of;
use std::collections::HashMap;
use std::path::Path;

use tree_sitter::Node;

use crate::lang::field;

use super::{count_errors, preorder};
use crate::model::{FileModel, FnId, Span, Target};
use types::{named_children, Declarations};

/// Methods that run their callback before returning (LINQ, `List.ForEach`, `Parallel.ForEach`):
/// the callback runs inline, in the caller's context.
#[rustfmt::skip]
const INLINE_CALLBACK_METHODS: &[&str] = &[
    "Select", "SelectMany", "Where", "Any", "All", "First", "FirstOrDefault", "Single",
    "SingleOrDefault", "Last", "LastOrDefault", "Count", "LongCount", "Sum", "Min", "Max", "MinBy",
    "MaxBy", "Average", "OrderBy", "OrderByDescending", "ThenBy", "ThenByDescending", "GroupBy",
    "ToDictionary", "ToLookup", "Aggregate", "ForEach", "TakeWhile", "SkipWhile", "Zip", "Join",
    "GroupJoin", "DistinctBy", "UnionBy", "ExceptBy", "IntersectBy", "Exists", "Find", "FindAll",
    "FindIndex", "FindLast", "RemoveAll", "TrueForAll", "Sort", "ConvertAll", "For", "Invoke",
    "GetOrAdd", "AddOrUpdate", "Lock",
];

/// Calls that run their callback on another thread: its own context.
const OTHER_THREAD_CALLS: &[&str] = &[
    "Task.Run",
    "Task.Factory.StartNew",
    "Factory.StartNew",
    "ThreadPool.QueueUserWorkItem",
    "ThreadPool.UnsafeQueueUserWorkItem",
    "new Thread",
    "new Task",
];

/// LINQ operators that keep an EF Core query a query (nothing is read yet).
#[rustfmt::skip]
const QUERY_OPERATORS: &[&str] = &[
    "Where", "Select", "SelectMany", "OrderBy", "OrderByDescending", "ThenBy", "ThenByDescending",
    "Include", "ThenInclude", "AsNoTracking", "AsNoTrackingWithIdentityResolution", "AsTracking",
    "AsQueryable", "AsSplitQuery", "AsSingleQuery", "IgnoreQueryFilters", "IgnoreAutoIncludes",
    "Skip", "Take", "GroupBy", "Distinct", "Join", "GroupJoin", "Union", "Concat", "Except",
    "Intersect", "FromSqlRaw", "FromSql", "FromSqlInterpolated", "TagWith", "OfType", "Cast",
    "DefaultIfEmpty", "Reverse", "SkipWhile", "TakeWhile", "WhereIf", "TemporalAll", "TemporalAsOf",
];

pub fn lower(root: Node, source: &str, path: &Path) -> FileModel {
    let decls = types::declarations(root, source);
    let mut l = Lowerer {
        src: source,
        path,
        model: FileModel::default(),
        decls,
        fn_stack: Vec::new(),
        class_stack: Vec::new(),
        try_stack: Vec::new(),
        fn_meta: Vec::new(),
        vars: Scoped::default(),
        completed: Scoped::default(),
        completed_ranges: Vec::new(),
        handler_lambdas: HashMap::new(),
        groups: HashMap::new(),
        node_call: HashMap::new(),
        pending_calls: Vec::new(),
        pending_regs: Vec::new(),
        index: FnIndex::default(),
        wait_sources: Vec::new(),
        ancestors: Vec::new(),
    };
    l.model.parse_errors = count_errors(root);
    l.model.imports = l.decls.namespaces.clone();
    preorder(root, |node| l.visit(node));
    l.finish()
}

/// What the front-end knows of a local, parameter or field.
#[derive(Debug, Clone, Default)]
struct Var {
    /// Normalized type (`HttpClient`, `IQueryable`, `DbContext`, `Task`).
    ty: Option<String>,
    /// Holds a Task/ValueTask that may still be running.
    task: bool,
    /// Request input: the access path it reads (`@Param.dto`, `@BindProperty.Input`).
    input: Option<String>,
}

/// Per-function facts that do not go into the model.
#[derive(Debug, Clone, Default)]
struct FnMeta {
    /// Declared return type as written.
    returns: Option<String>,
    class: Option<usize>,
    /// Runs once before requests (Main, ConfigureServices, top-level lambdas...).
    startup_scope: bool,
    is_local_function: bool,
    params: Vec<String>,
    /// A lambda handed to an operator of an EF query: an expression tree translated to SQL,
    /// never run in process.
    expression_tree: bool,
}

/// A call whose callee is a bare name or a method of the file, resolved once every function is known.
struct PendingCall {
    call: usize,
    scope: Option<FnId>,
    class: Option<usize>,
    /// `Foo(...)`, `this.Foo(...)` or `Class.Foo(...)` (then the class name).
    qualifier: Option<String>,
    name: String,
    receiver_node: Option<usize>,
    /// The callee is a bare name or `this.`/`Class.` qualified: look for it in the file.
    resolve: bool,
}

/// A method group handed to `MapGet(...)`.
struct PendingReg {
    span: Span,
    route: String,
    scope: Option<FnId>,
    class: Option<usize>,
    qualifier: Option<String>,
    name: String,
}

pub(super) struct Lowerer<'s, 't> {
    /// The nodes from the root down to the one being visited: `Node::parent()` walks down from
    /// the root, so a parent lookup per node would be quadratic on deep trees.
    ancestors: Vec<Node<'t>>,
    src: &'s str,
    path: &'s Path,
    model: FileModel,
    decls: Declarations,
    fn_stack: Vec<(FnId, usize)>,
    class_stack: Vec<(usize, usize)>,
    /// `try` bodies with a `catch`: (start, end, function).
    try_stack: Vec<(usize, usize, Option<FnId>)>,
    fn_meta: Vec<FnMeta>,
    /// Locals and parameters per function scope (`None`: top-level statements).
    vars: Scoped<Var>,
    /// Task variables a function already awaited (`await t;`, `await Task.WhenAll(a, b)`).
    completed: Scoped<()>,
    /// `if (t.IsCompleted) { ... }`: byte ranges where a task is known to be complete.
    completed_ranges: Vec<(usize, usize, String)>,
    /// Lambdas handed to `MapGet(...)` and friends, by node id, with their route.
    handler_lambdas: HashMap<usize, String>,
    /// `var admin = app.MapGroup("/admin")`: variable -> route prefix.
    groups: HashMap<String, String>,
    node_call: HashMap<usize, usize>,
    pending_calls: Vec<PendingCall>,
    pending_regs: Vec<PendingReg>,
    /// (wait, the call node whose task it waits on)
    wait_sources: Vec<(usize, usize)>,
    index: FnIndex,
}

impl<'s, 't> Lowerer<'s, 't> {
    /// `start`, its enclosing functions, then the top level.
    fn scopes(&self, start: Option<FnId>) -> ScopeChain<'_> {
        ScopeChain {
            functions: &self.model.functions,
            next: Some(start),
            left: SCOPE_DEPTH,
        }
    }

    /// The parent of a node on the path being visited, without walking down from the root.
    fn parent_of(&self, node: Node<'t>) -> Option<Node<'t>> {
        match self.ancestors.iter().rposition(|a| a.id() == node.id()) {
            Some(i) => i.checked_sub(1).map(|j| self.ancestors[j]),
            None => node.parent(),
        }
    }

    fn current_fn(&self) -> Option<FnId> {
        self.fn_stack.last().map(|&(id, _)| id)
    }

    fn current_class(&self) -> Option<usize> {
        self.class_stack.last().map(|&(c, _)| c)
    }

    fn visit(&mut self, node: Node<'t>) {
        // Punctuation and keywords are leaves nothing here looks at.
        if !node.is_named() {
            return;
        }
        let start = node.start_byte();
        while self
            .ancestors
            .last()
            .is_some_and(|a| a.end_byte() <= start && a.id() != node.id())
        {
            self.ancestors.pop();
        }
        self.ancestors.push(node);
        while self.fn_stack.last().is_some_and(|&(_, end)| end <= start) {
            self.fn_stack.pop();
        }
        while self
            .class_stack
            .last()
            .is_some_and(|&(_, end)| end <= start)
        {
            self.class_stack.pop();
        }
        while self
            .try_stack
            .last()
            .is_some_and(|&(_, end, _)| end <= start)
        {
            self.try_stack.pop();
        }
        match kind_of(node) {
            "class_declaration"
            | "record_declaration"
            | "struct_declaration"
            | "record_struct_declaration"
            | "interface_declaration" => {
                if let Some(&c) = self.decls.class_of_node.get(&node.id()) {
                    self.class_stack.push((c, node.end_byte()));
                }
            }
            "method_declaration"
            | "constructor_declaration"
            | "local_function_statement"
            | "lambda_expression"
            | "anonymous_method_expression"
            | "accessor_declaration"
            | "operator_declaration"
            | "conversion_operator_declaration" => self.function(node),
            // `int P => expr;`: the expression body is a getter.
            "property_declaration"
                if node
                    .child_by_field_name("value")
                    .is_some_and(|v| kind_of(v) == "arrow_expression_clause") =>
            {
                self.function(node)
            }
            "variable_declaration" => self.declaration(node),
            "invocation_expression" => self.invocation(node),
            "object_creation_expression" | "implicit_object_creation_expression" => {
                self.creation(node)
            }
            "member_access_expression" | "member_binding_expression" => self.result_access(node),
            "await_expression" => self.await_expr(node),
            "assignment_expression" => self.assignment(node),
            "try_statement" => {
                let has_catch = named_children(node).any(|c| kind_of(c) == "catch_clause");
                if let (true, Some(body)) = (has_catch, field(node, "body")) {
                    self.try_stack
                        .push((body.start_byte(), body.end_byte(), self.current_fn()));
                }
            }
            "if_statement" => {
                self.completion_guard(node);
                guards::if_statement(self, node)
            }
            // `return string.IsNullOrEmpty(q) ? Results.BadRequest() : Results.Ok(...)`
            "conditional_expression" => guards::if_statement(self, node),
            "foreach_statement" => self.foreach(node),
            _ => {}
        }
    }

    fn finish(mut self) -> FileModel {
        self.build_index();
        let pending = std::mem::take(&mut self.pending_calls);
        for p in &pending {
            self.model.calls[p.call].receiver_call = p
                .receiver_node
                .and_then(|n| self.node_call.get(&n).copied());
            if !p.resolve {
                continue;
            }
            let args = self.model.calls[p.call].arg_count;
            let target = self.local_target(p.scope, p.class, p.qualifier.as_deref(), &p.name, args);
            let call = &mut self.model.calls[p.call];
            match target {
                Some(f) => {
                    let func = &self.model.functions[f];
                    let meta = &self.fn_meta[f];
                    let owner = meta
                        .class
                        .map(|c| self.decls.classes[c].name.clone())
                        .unwrap_or_default();
                    call.callee = Some(if owner.is_empty() {
                        p.name.clone()
                    } else {
                        format!("{owner}.{}", p.name)
                    });
                    call.returns_promise |= (func.is_async && !func.async_void)
                        || meta.returns.as_deref().is_some_and(types::is_task_type);
                    call.target = Some(Target::Local(f));
                }
                None => match p.qualifier.as_deref() {
                    // `Helper.Run()` of another file's static class.
                    Some(q)
                        if !q.is_empty()
                            && !BCL_STATIC_CLASSES.contains(&q)
                            && !calls::is_framework_type(q) =>
                    {
                        call.target = Some(Target::Module {
                            module: q.to_string(),
                            name: p.name.clone(),
                        });
                    }
                    _ => {
                        // `using static Helpers;` then `SetupAsync(...)`: look in the helper class.
                        let helper = self
                            .decls
                            .static_usings
                            .iter()
                            .find(|u| !BCL_STATIC_CLASSES.contains(&u.as_str()));
                        if let Some(h) = helper {
                            call.target = Some(Target::Module {
                                module: h.clone(),
                                name: p.name.clone(),
                            });
                        }
                        if call.callee.is_none() {
                            call.callee = Some(match self.decls.static_usings.as_slice() {
                                [only] => format!("{only}.{}", p.name),
                                _ => p.name.clone(),
                            });
                        }
                    }
                },
            }
        }
        for (wait, node) in std::mem::take(&mut self.wait_sources) {
            let target = self
                .node_call
                .get(&node)
                .and_then(|&c| self.model.calls[c].target.clone());
            if let Some(w) = self.model.waits.get_mut(wait) {
                w.target = target;
            }
        }
        handlers::finish(&mut self);
        self.model
    }

    /// A function of this file a call names: a local function in scope, a method of the class.
    fn local_target(
        &self,
        scope: Option<FnId>,
        class: Option<usize>,
        qualifier: Option<&str>,
        name: &str,
        args: u32,
    ) -> Option<FnId> {
        match qualifier {
            None => {
                // Local functions of this function or an enclosing one (top-level ones at None).
                for s in self.scopes(scope) {
                    if let Some(&f) = self.index.locals.get(&(s, name.to_string())) {
                        return Some(f);
                    }
                }
                self.class_method(class?, name, args)
            }
            Some("") => self.class_method(class?, name, args),
            Some(q) => {
                let c = self.decls.classes.iter().position(|c| c.name == q)?;
                self.class_method(c, name, args)
            }
        }
    }

    /// A method of a class by name; among overloads, the one whose parameters fit the arguments.
    fn class_method(&self, class: usize, name: &str, args: u32) -> Option<FnId> {
        let candidates = self.index.methods.get(&(class, name.to_string()))?;
        if let [only] = candidates.as_slice() {
            return Some(*only);
        }
        let arity = |f: FnId| self.fn_meta[f].params.len() as u32;
        candidates
            .iter()
            .find(|&&f| arity(f) == args)
            .or_else(|| candidates.iter().find(|&&f| arity(f) > args))
            .or_else(|| candidates.first().filter(|_| args == u32::MAX))
            .copied()
    }

    /// Local functions and methods by name, once every function is known.
    fn build_index(&mut self) {
        for (f, (func, meta)) in self.model.functions.iter().zip(&self.fn_meta).enumerate() {
            let Some(name) = func.name.clone() else {
                continue;
            };
            if meta.is_local_function {
                self.index.locals.entry((func.parent, name)).or_insert(f);
            } else if let (Some(c), Some(_)) = (meta.class, &meta.returns) {
                self.index.methods.entry((c, name)).or_default().push(f);
            }
        }
    }
}

/// How many enclosing functions a name lookup climbs: real code nests a few levels; a generated
/// 20,000-deep nest of local functions must not make every lookup walk them all.
const SCOPE_DEPTH: u32 = 64;

/// A function, its enclosing functions, then the top level (`None`), at most `SCOPE_DEPTH` of them.
pub(super) struct ScopeChain<'a> {
    functions: &'a [crate::model::Function],
    next: Option<Option<FnId>>,
    left: u32,
}

impl Iterator for ScopeChain<'_> {
    type Item = Option<FnId>;

    fn next(&mut self) -> Option<Option<FnId>> {
        let current = self.next.take()?;
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.next = current.map(|id| self.functions.get(id).and_then(|f| f.parent));
        Some(current)
    }
}

/// Names per function scope (`None`: top-level statements), looked up by `&str` without allocating.
#[derive(Debug)]
struct Scoped<T>(HashMap<Option<FnId>, HashMap<String, T>>);

impl<T> Default for Scoped<T> {
    fn default() -> Self {
        Scoped(HashMap::new())
    }
}

impl<T> Scoped<T> {
    fn get(&self, scope: Option<FnId>, name: &str) -> Option<&T> {
        self.0.get(&scope)?.get(name)
    }

    fn get_mut(&mut self, scope: Option<FnId>, name: &str) -> Option<&mut T> {
        self.0.get_mut(&scope)?.get_mut(name)
    }

    fn contains(&self, scope: Option<FnId>, name: &str) -> bool {
        self.get(scope, name).is_some()
    }

    fn insert(&mut self, scope: Option<FnId>, name: String, value: T) {
        self.0.entry(scope).or_default().insert(name, value);
    }

    fn remove(&mut self, scope: Option<FnId>, name: &str) {
        if let Some(m) = self.0.get_mut(&scope) {
            m.remove(name);
        }
    }
}

#[derive(Default)]
struct FnIndex {
    locals: HashMap<(Option<FnId>, String), FnId>,
    methods: HashMap<(usize, String), Vec<FnId>>,
}

/// Static classes of the base library commonly imported with `using static`.
#[rustfmt::skip]
const BCL_STATIC_CLASSES: &[&str] = &[
    "Guid", "DateTime", "DateTimeOffset", "TimeSpan", "JsonSerializer", "Encoding", "Environment",
    "Regex", "Uri", "Activator", "Array", "Enum", "Int32", "Int64", "Decimal", "Double", "Boolean",
    "Char", "BitConverter", "Interlocked", "Volatile", "Monitor", "Thread", "ThreadPool", "Parallel",
    "GC", "Debug", "Trace", "Log", "ArgumentNullException", "ArgumentException", "Object", "Nullable",
    "Buffer", "Marshal", "Stopwatch", "Process", "CultureInfo", "StringComparer", "Expression",
    "ImmutableArray", "ImmutableList", "ImmutableDictionary", "Unsafe", "MemoryMarshal", "Random",
    "Base64Url", "Convert", "RandomNumberGenerator", "SHA256", "SHA1", "MD5", "HMACSHA256", "Aes",
    "WebUtility", "HttpUtility", "Uri", "IPAddress", "Dns", "Policy", "Ok", "Assert", "Mock", "Substitute",
    "Arg", "It", "Moq", "FluentActions", "Times", "Task", "TaskCompletionSource", "ValueTask",
    "CancellationToken", "ConfigurationManager", "Log", "Serilog", "Activity", "ActivitySource",
    "Meter", "Metrics", "Results", "TypedResults", "StatusCodes", "Console", "Path", "File",
    "Directory", "Math", "Enumerable", "String", "Queryable", "EF", "Microsoft", "System",
    "Math", "Console", "File", "Path", "Directory", "Convert", "Task", "Enumerable", "String",
    "Results", "TypedResults", "StatusCodes", "Assert",
];
