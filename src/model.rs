//! The language-neutral model a front-end lowers each parsed file into.
//!
//! A front-end only says what the code is (functions, calls, guards, registrations); the rules in
//! `src/rules/` decide what is a finding from these facts and the catalogs. The model is plain
//! data: no tree-sitter node survives lowering, so memory stays flat after the parse.

use std::path::PathBuf;

/// A byte range in the file's source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    JavaScript,
    TypeScript,
    Python,
    CSharp,
}

impl Language {
    pub fn name(self) -> &'static str {
        match self {
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Python => "python",
            Language::CSharp => "csharp",
        }
    }

    /// The catalog section that holds this language's API knowledge (JS and TS share one).
    pub fn family(self) -> Family {
        match self {
            Language::JavaScript | Language::TypeScript => Family::JavaScript,
            Language::Python => Family::Python,
            Language::CSharp => Family::CSharp,
        }
    }
}

/// A group of languages sharing one front-end and one catalog section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    JavaScript,
    Python,
    CSharp,
}

impl Family {
    pub const ALL: [Family; 3] = [Family::JavaScript, Family::Python, Family::CSharp];

    pub fn key(self) -> &'static str {
        match self {
            Family::JavaScript => "javascript",
            Family::Python => "python",
            Family::CSharp => "csharp",
        }
    }
}

pub type FnId = usize;
pub type CallId = usize;

/// What one source file holds, as far as the rules care.
#[derive(Debug, Default)]
pub struct FileModel {
    pub path: PathBuf,
    pub language: Option<Language>,
    pub functions: Vec<Function>,
    pub calls: Vec<Call>,
    pub waits: Vec<BlockingWait>,
    pub guards: Vec<Guard>,
    pub registrations: Vec<Registration>,
    /// Module specifiers / namespaces this file imports (`express`, `zod`, `fastapi`, `System.IO`).
    pub imports: Vec<String>,
    /// Functions other files may reach by name (`module.exports`, `export`, Python module
    /// functions, C# public methods as `Class.Method`).
    pub exports: Vec<Export>,
    /// Syntax error nodes tree-sitter recovered from.
    pub parse_errors: u32,
    /// A test file (`*.test.ts`, `tests/`, `test_*.py`, `*Tests.cs`).
    pub is_test: bool,
    /// Tests and tooling (`scripts/`, CLI commands, migrations, `#!` scripts): no server runs it.
    pub is_tooling: bool,
    /// Browser UI code (a React/Vue/Angular/Svelte component): no server runs it either.
    pub is_ui: bool,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub name: Option<String>,
    /// The whole function.
    pub span: Span,
    /// Where a finding about the function itself points: its header up to the parameters.
    pub head: Span,
    pub is_async: bool,
    /// Calling it gives a promise or task: `async`, or declared to return `Promise<T>`/`Task`.
    pub returns_task: bool,
    /// The enclosing function, `None` at module level.
    pub parent: Option<FnId>,
    pub role: Role,
    pub runs: Runs,
    /// An `await` that no `try` with a `catch` of this function covers.
    pub awaits_outside_try: bool,
    /// Async, and every `await`, `throw` and returned call of its body is inside `try`/`catch`:
    /// calling it cannot reject.
    pub body_guarded: bool,
    /// C# `async void`: nothing can observe its failure.
    pub async_void: bool,
    /// For a callback: the call it was passed to, as `new Promise`, `forEach`, `on`, `Task.Run`.
    pub passed_to: Option<String>,
    /// The class a method belongs to (for C#/Python cross-file lookups and Nest controllers).
    pub class: Option<String>,
}

/// What the framework or the program uses a function for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Plain,
    Handler(Handler),
    /// Runs once before requests are served: factories, plugins, listen callbacks, constructors.
    Startup,
    /// An event handler by signature (`(object sender, EventArgs e)`): `async void` is fine there.
    EventHandler,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Handler {
    /// `express`, `koa`, `fastify`, `next`, `nest`, `fastapi`, `aspnet`, ... or empty when unknown.
    pub framework: String,
    /// `GET /users`, or empty when the route is not known.
    pub route: String,
    /// Wrapped in an async-error wrapper (`asyncHandler(fn)`).
    pub wrapped: bool,
    /// The registration validates the request itself (a route `schema`, a typed body).
    pub validated: bool,
    /// Canonical names of the middleware registered with it (`express-validator.body`).
    pub middleware: Vec<String>,
}

/// Where a function's body runs relative to its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// Its own invocation, whenever something calls it.
    Own,
    /// Inline in the caller, like a callback of a synchronous `map`/`forEach`/`Select`.
    Inline,
    /// On another thread (`asyncio.to_thread`, `Task.Run`, a worker thread): its own context.
    OtherThread,
}

#[derive(Debug, Clone)]
pub struct Call {
    /// Where a finding about the call points: the callee and its arguments.
    pub span: Span,
    pub in_fn: Option<FnId>,
    /// The canonical name through imports and aliases (`fs.readFileSync`, `requests.Session.get`),
    /// `None` when the callee's root is a local value of unknown type.
    pub callee: Option<String>,
    /// The callee as written, e.g. `this.repo.save`.
    pub text: String,
    /// `new X(...)` rather than a call.
    pub construct: bool,
    pub result: Use,
    /// A function of the scanned code this call reaches.
    pub target: Option<Target>,
    /// Inside a branch that initializes an outer variable only while it is unset
    /// (`if (!client) client = ...`): runs once, like startup.
    pub lazy_init: bool,
    /// The first argument as written (a string literal without its quotes), for catalog
    /// entries that depend on it (`execSync('node ...')`).
    pub first_arg: Option<String>,
    pub arg_count: u32,
    /// The last argument is a callback (a function, or `callback`/`cb`/`next`/`done`): the call
    /// reports its outcome through it, not through a promise.
    pub callback_arg: bool,
    /// For `a().b()`: the call `a()` that produced the receiver.
    pub receiver_call: Option<CallId>,
    /// The callee is an identifier the program knows holds an async function or a Task.
    pub returns_promise: bool,
}

impl Call {
    /// The last segment of the callee, `then` for `p.then`.
    pub fn method(&self) -> &str {
        self.text.rsplit('.').next().unwrap_or(&self.text)
    }
}

/// What the program does with a call's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Awaited,
    Returned,
    /// Stored in a variable of the function itself.
    Assigned,
    /// Stored where it outlives the call: a module-level or static variable, a field, `globalThis`.
    Stored,
    Argument,
    /// The receiver of a further call (`p.then(...)`, `p.catch(...)`).
    Chained,
    /// `void p` / `_ = p`: dropped on purpose.
    Voided,
    /// Handed to a scheduler that runs it concurrently with the caller (`asyncio.create_task(f())`,
    /// `ensure_future`, `start_soon`): the callee's body does not run within the call.
    Spawned,
    /// A bare expression statement: nothing looks at the result.
    Discarded,
    Other,
}

/// A function of the scanned code a call or registration refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Local(FnId),
    /// A name exported by another module: the module as written in the import, and the export name
    /// (`default` for a default export).
    Module {
        module: String,
        name: String,
    },
    /// A name exported by a file the front-end already located (a path alias of tsconfig):
    /// the path as walked, with or without its extension.
    File {
        path: String,
        name: String,
    },
}

/// A blocking wait on a task: `.Result`, `.Wait()`, `.GetAwaiter().GetResult()`, `Task.WaitAll`.
#[derive(Debug, Clone)]
pub struct BlockingWait {
    pub span: Span,
    pub in_fn: Option<FnId>,
    pub kind: WaitKind,
    /// What the file shows of the receiver being a task.
    pub on: TaskEvidence,
    /// When the receiver is a call into the scanned code (`orders.Load(id).Result`): that
    /// function, whose declared return type may show the task the file does not.
    pub target: Option<Target>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitKind {
    Result,
    Wait,
    GetResult,
    WaitAll,
    RunSynchronously,
}

impl WaitKind {
    pub fn check(self) -> &'static str {
        match self {
            WaitKind::Result => "task-result",
            WaitKind::Wait => "task-wait",
            WaitKind::GetResult => "task-get-result",
            WaitKind::WaitAll => "task-wait-all",
            WaitKind::RunSynchronously => "task-run-synchronously",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEvidence {
    /// An `*Async` call, `Task.Run`, a Task-typed variable or a Task-returning method of the file.
    Task,
    /// A task this function already awaited: its result is ready.
    Completed,
    /// Nothing says it is a task.
    Unknown,
}

/// An `if` in a function whose condition checks request input and whose branch answers with a status.
#[derive(Debug, Clone)]
pub struct Guard {
    pub span: Span,
    pub in_fn: FnId,
    /// The request inputs the condition reads, as access paths (`req.body.email`, `@Body`).
    pub reads: Vec<String>,
    /// The condition is a check of presence, type, length, range or format.
    pub checks: bool,
    /// The status the branch answers with (400, 422, 404...).
    pub status: u16,
}

/// A framework registration of a handler: `app.get('/x', fn)`, `@app.post`, `MapGet`.
#[derive(Debug, Clone)]
pub struct Registration {
    pub span: Span,
    pub framework: String,
    /// `GET /users`, or empty.
    pub route: String,
    pub target: Target,
    pub wrapped: bool,
    pub validated: bool,
    pub middleware: Vec<String>,
    /// The target runs once at registration (a Fastify plugin), not per request.
    pub startup: bool,
}

#[derive(Debug, Clone)]
pub struct Export {
    pub name: String,
    pub function: FnId,
}

impl FileModel {
    /// Appends the model of a later piece of the same file (see `lang::chunks`). The piece was
    /// parsed with `header` bytes of import lines in front of it, which are dropped, and starts
    /// `start` bytes into the file.
    pub fn append(&mut self, piece: FileModel, header: u32, start: u32) {
        let fn_base = self.functions.len();
        let call_base = self.calls.len();
        let shift = |s: Span| Span {
            start: (s.start - header.min(s.start)) + start,
            end: (s.end - header.min(s.end)) + start,
        };
        let local = |t: Target| match t {
            Target::Local(f) => Target::Local(f + fn_base),
            other => other,
        };
        for mut f in piece.functions {
            f.span = shift(f.span);
            f.head = shift(f.head);
            f.parent = f.parent.map(|p| p + fn_base);
            self.functions.push(f);
        }
        // Calls in the header (`require(...)`) are the first piece's, not this one's.
        let kept: Vec<bool> = piece.calls.iter().map(|c| c.span.start >= header).collect();
        let mut index = Vec::with_capacity(kept.len());
        let mut next = call_base;
        for k in &kept {
            index.push(next);
            next += usize::from(*k);
        }
        for (i, mut c) in piece.calls.into_iter().enumerate() {
            if !kept[i] {
                continue;
            }
            c.span = shift(c.span);
            c.in_fn = c.in_fn.map(|f| f + fn_base);
            c.target = c.target.map(local);
            c.receiver_call = c.receiver_call.filter(|r| kept[*r]).map(|r| index[r]);
            self.calls.push(c);
        }
        for mut w in piece.waits {
            w.span = shift(w.span);
            w.in_fn = w.in_fn.map(|f| f + fn_base);
            self.waits.push(w);
        }
        for mut g in piece.guards {
            g.span = shift(g.span);
            g.in_fn += fn_base;
            self.guards.push(g);
        }
        for mut r in piece.registrations {
            r.span = shift(r.span);
            r.target = local(r.target);
            self.registrations.push(r);
        }
        for mut e in piece.exports {
            e.function += fn_base;
            self.exports.push(e);
        }
        for i in piece.imports {
            if !self.imports.contains(&i) {
                self.imports.push(i);
            }
        }
        self.parse_errors += piece.parse_errors;
    }
}
