//! Bindings per scope and the resolution of Python callees to canonical names: imports and
//! aliases (`import requests as rq`, `from time import sleep`), typed receivers
//! (`s = requests.Session(); s.get` -> `requests.Session.get`, `db: Session`), local functions,
//! classes and their methods (`self.announce`, `room: Room; room.broadcast`).

use std::collections::HashMap;

use crate::lang::ScopeTables;

use crate::model::{FnId, Function, Target};

/// The root of a callee's attribute chain.
#[derive(Debug, Clone)]
pub enum Root {
    Ident(String),
    /// The result of another call of the file (`requests.Session().get`), by its node id.
    Call(usize),
    Other,
}

/// A name, chain or call whose value a binding holds; resolved once the whole file is seen.
#[derive(Debug, Clone)]
pub struct Expr {
    pub scope: Option<FnId>,
    pub root: Root,
    pub members: Vec<String>,
    /// The value is the result of calling the chain (`requests.Session()`), not the chain itself.
    pub called: bool,
    /// The chain names a type (an annotation `db: Session`): the value is an instance of it.
    pub annotation: bool,
}

#[derive(Debug, Clone)]
pub enum Binding {
    /// An import: the canonical dotted name it stands for (`requests`, `time.sleep`,
    /// `.db.get_conn` for a relative import).
    Module(String),
    Function(FnId),
    Class(usize),
    /// A value whose type the file shows.
    Instance(Box<Expr>),
    /// The first parameter of a method.
    SelfOf(usize),
    /// Request input (`data = await request.json()`): its access path.
    Input(String),
    /// The request object itself (`request` parameter, `flask.request`).
    Request,
    /// A local value the front-end knows nothing more of; it shadows imports and builtins.
    Value,
}

/// What the file knows of a class it defines.
#[derive(Debug, Default, Clone)]
pub struct ClassInfo {
    pub name: String,
    /// Base classes as written (`web.View`, `APIView`), with their resolution at the end.
    pub bases: Vec<Expr>,
    pub methods: Vec<FnId>,
    /// Attribute types from `self.x = T(...)` and class-level `x = T(...)`.
    pub attrs: HashMap<String, Expr>,
}

/// A type the file shows for a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Canonical(String),
    Class(usize),
}

#[derive(Default, Debug)]
pub struct Resolved {
    pub name: Option<String>,
    pub target: Option<Target>,
    /// The call's result has a known type (for receivers of further calls).
    pub result: Option<Type>,
}

#[derive(Default)]
pub struct Scopes {
    /// Index 0 is the module; function `f` is `f + 1`.
    tables: ScopeTables<Binding>,
    pub params: HashMap<FnId, Vec<String>>,
    /// `global`/`nonlocal` names per function.
    pub globals: HashMap<FnId, Vec<String>>,
}

const MAX_DEPTH: u32 = 8;

/// Calls whose result is a known type (factories, loops, connections); `""` keeps the name.
const RESULT_TYPES: &[(&str, &str)] = &[
    ("asyncio.get_event_loop", "asyncio.AbstractEventLoop"),
    ("asyncio.get_running_loop", "asyncio.AbstractEventLoop"),
    ("asyncio.new_event_loop", "asyncio.AbstractEventLoop"),
    ("asyncio.events.get_event_loop", "asyncio.AbstractEventLoop"),
    (
        "asyncio.run_coroutine_threadsafe",
        "concurrent.futures.Future",
    ),
    ("redis.from_url", "redis.Redis"),
    ("redis.Redis.from_url", "redis.Redis"),
    ("redis.StrictRedis", "redis.Redis"),
    ("redis.StrictRedis.from_url", "redis.Redis"),
    ("redis.client.Redis", "redis.Redis"),
    ("redis.client.StrictRedis", "redis.Redis"),
    ("redis.asyncio.from_url", "redis.asyncio.Redis"),
    ("redis.asyncio.Redis.from_url", "redis.asyncio.Redis"),
    ("redis.asyncio.StrictRedis", "redis.asyncio.Redis"),
    ("redis.asyncio.client.Redis", "redis.asyncio.Redis"),
    ("aioredis.from_url", "aioredis.Redis"),
    ("sqlite3.connect", "sqlite3.Connection"),
    ("sqlite3.dbapi2.Connection", "sqlite3.Connection"),
    ("sqlite3.Cursor", "sqlite3.Connection.cursor"),
    ("psycopg2.connect", "psycopg2.extensions.connection"),
    (
        "psycopg2.extensions.cursor",
        "psycopg2.extensions.connection.cursor",
    ),
    (
        "psycopg2.pool.SimpleConnectionPool.getconn",
        "psycopg2.extensions.connection",
    ),
    (
        "psycopg2.pool.ThreadedConnectionPool.getconn",
        "psycopg2.extensions.connection",
    ),
    ("psycopg.connect", "psycopg.Connection"),
    ("psycopg.Connection.connect", "psycopg.Connection"),
    ("psycopg.Cursor", "psycopg.Connection.cursor"),
    ("pymysql.connect", "pymysql.connections.Connection"),
    ("pymysql.Connection", "pymysql.connections.Connection"),
    ("pymysql.Connect", "pymysql.connections.Connection"),
    ("MySQLdb.connect", "MySQLdb.connections.Connection"),
    ("MySQLdb.Connection", "MySQLdb.connections.Connection"),
    ("mysql.connector.connect", "mysql.connector.MySQLConnection"),
    ("requests.session", "requests.Session"),
    ("smtplib.SMTP_SSL", "smtplib.SMTP_SSL"),
    ("requests.sessions.Session", "requests.Session"),
    ("pymongo.mongo_client.MongoClient", "pymongo.MongoClient"),
    ("boto3.session.Session", "boto3.Session"),
    ("boto3.Session.client", "boto3.client"),
    ("boto3.Session.resource", "boto3.resource"),
    ("sqlalchemy.orm.session.Session", "sqlalchemy.orm.Session"),
    ("pathlib.PosixPath", "pathlib.Path"),
    ("pathlib.PurePath", "pathlib.Path"),
    ("pathlib.Path.parent", "pathlib.Path"),
    ("pathlib.Path.with_suffix", "pathlib.Path"),
    ("pathlib.Path.with_name", "pathlib.Path"),
    ("pathlib.Path.with_stem", "pathlib.Path"),
    ("pathlib.Path.resolve", "pathlib.Path"),
    ("pathlib.Path.absolute", "pathlib.Path"),
    ("pathlib.Path.expanduser", "pathlib.Path"),
    ("pathlib.Path.joinpath", "pathlib.Path"),
    ("pathlib.Path.home", "pathlib.Path"),
    ("pathlib.Path.cwd", "pathlib.Path"),
];

/// Methods and functions whose result is worth typing by their own name
/// (`conn = psycopg2.connect(...)`; `cur = conn.cursor()`).
const FACTORY_NAMES: &[&str] = &[
    "connect",
    "cursor",
    "client",
    "resource",
    "pipeline",
    "get_database",
    "get_collection",
    "get_default_database",
    "Table",
    "Bucket",
    "Object",
];

/// The type of a call's result, from the callee's canonical name.
pub fn result_type(name: &str) -> Option<String> {
    if let Some((_, t)) = RESULT_TYPES.iter().find(|(n, _)| *n == name) {
        return Some(t.to_string());
    }
    let last = name.rsplit('.').next().unwrap_or(name);
    // `Session`, `SMTP`; not constants such as `MAX_SIZE`.
    let class_like = last.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && (last.chars().any(|c| c.is_ascii_lowercase()) || !last.contains('_'));
    (class_like || FACTORY_NAMES.contains(&last)).then(|| normalize_type(name))
}

/// `pathlib.Path.parent` is a `pathlib.Path`; `redis.StrictRedis` a `redis.Redis`.
pub fn normalize_type(name: &str) -> String {
    let mut n = name.to_string();
    for _ in 0..4 {
        let best = RESULT_TYPES
            .iter()
            .filter(|(k, _)| n == *k || (n.starts_with(k) && n[k.len()..].starts_with('.')))
            .max_by_key(|(k, _)| k.len());
        let Some((k, t)) = best else { break };
        let next = format!("{t}{}", &n[k.len()..]);
        if next == n {
            break;
        }
        n = next;
    }
    n
}

impl Scopes {
    pub fn get(&self, scope: Option<FnId>, name: &str) -> Option<&Binding> {
        self.tables.get(scope, name)
    }

    /// Declare `name` in `scope`. Parameters are declared with `overwrite = false` so that a
    /// later plain assignment keeps what the parameter says (its type, request input).
    pub fn declare(&mut self, scope: Option<FnId>, name: &str, binding: Binding, overwrite: bool) {
        if name.is_empty() {
            return;
        }
        let table = self.tables.table(scope);
        match table.get(name) {
            None => {
                table.insert(name.to_string(), binding);
            }
            Some(old) => {
                // A plain value does not erase what a typed assignment or an import said.
                let keep = !overwrite
                    || (matches!(binding, Binding::Value)
                        && matches!(
                            old,
                            Binding::Instance(_)
                                | Binding::Input(_)
                                | Binding::Request
                                | Binding::Module(_)
                        ));
                if !keep {
                    table.insert(name.to_string(), binding);
                }
            }
        }
    }

    pub fn is_global_in(&self, scope: Option<FnId>, name: &str) -> bool {
        match scope {
            None => true,
            Some(f) => self
                .globals
                .get(&f)
                .is_some_and(|g| g.iter().any(|n| n == name)),
        }
    }

    /// The nearest binding of `name` from `scope` outwards (Python closures see enclosing
    /// functions; a `global` name is looked up at module level).
    pub fn lookup(
        &self,
        mut scope: Option<FnId>,
        name: &str,
        functions: &[Function],
    ) -> Option<&Binding> {
        loop {
            if let Some(f) = scope {
                if self.is_global_in(Some(f), name) {
                    return self.get(None, name);
                }
            }
            if let Some(b) = self.get(scope, name) {
                return Some(b);
            }
            scope = functions.get(scope?)?.parent;
        }
    }
}

/// Everything resolution needs to see of the file.
pub struct View<'a> {
    pub scopes: &'a Scopes,
    pub functions: &'a [Function],
    pub classes: &'a [ClassInfo],
    /// Callee expression of each call, by call id.
    pub calls: &'a [Expr],
    /// Call node id -> call id.
    pub node_call: &'a HashMap<usize, usize>,
    /// Return annotations of the file's functions (`def get_client() -> httpx.Client`).
    pub returns: &'a HashMap<FnId, Expr>,
}

impl View<'_> {
    pub fn resolve(&self, e: &Expr) -> Resolved {
        self.resolve_depth(e, 0)
    }

    fn resolve_depth(&self, e: &Expr, depth: u32) -> Resolved {
        if depth > MAX_DEPTH {
            return Resolved::default();
        }
        let mut r = self.resolve_chain(e.scope, &e.root, &e.members, e.called, depth);
        if e.annotation {
            r.result = match (&r.target, &r.name) {
                (Some(_), _) => r.result,
                (None, Some(n)) => Some(Type::Canonical(normalize_type(n))),
                _ => r.result,
            };
        }
        r
    }

    /// The type a binding's value has.
    fn type_of(&self, e: &Expr, depth: u32) -> Option<Type> {
        let r = self.resolve_depth(e, depth + 1);
        if e.annotation {
            if let Some(t) = r.result {
                return Some(t);
            }
            return r.name.map(|n| Type::Canonical(normalize_type(&n)));
        }
        if e.called {
            return r.result;
        }
        // A plain alias or attribute of a typed value (`db = client.mydb`).
        r.result.or_else(|| {
            r.name
                .filter(|n| result_type(n).is_some() && !e.members.is_empty())
                .map(|n| Type::Canonical(normalize_type(&n)))
        })
    }

    fn resolve_chain(
        &self,
        scope: Option<FnId>,
        root: &Root,
        members: &[String],
        called: bool,
        depth: u32,
    ) -> Resolved {
        match root {
            Root::Ident(name) => match self.scopes.lookup(scope, name, self.functions) {
                None => {
                    // A builtin or an unknown global: the name as written.
                    let name = match name.as_str() {
                        "__builtins__" | "builtins" => String::new(),
                        _ => name.clone(),
                    };
                    let full = join(&name, members);
                    self.named(full.trim_start_matches('.').to_string())
                }
                Some(Binding::Module(canonical)) => {
                    let full = join(canonical, members);
                    let mut r = self.named(full.clone());
                    r.target = module_target(&full);
                    r
                }
                Some(Binding::Function(f)) => {
                    if members.is_empty() {
                        Resolved {
                            name: None,
                            target: Some(Target::Local(*f)),
                            result: self.returned_type(*f, depth),
                        }
                    } else {
                        Resolved::default()
                    }
                }
                Some(Binding::Class(c)) => {
                    self.on_type(&Type::Class(*c), members, true, called, depth)
                }
                Some(Binding::SelfOf(c)) => {
                    self.on_type(&Type::Class(*c), members, false, called, depth)
                }
                Some(Binding::Instance(e)) => match self.type_of(e, depth) {
                    Some(t) => self.on_type(&t, members, false, called, depth),
                    None => Resolved::default(),
                },
                Some(_) => Resolved::default(),
            },
            Root::Call(node) => {
                let Some(inner) = self.node_call.get(node).and_then(|&id| self.calls.get(id))
                else {
                    return Resolved::default();
                };
                let r = self.resolve_depth(inner, depth + 1);
                match r.result {
                    Some(t) => self.on_type(&t, members, false, called, depth),
                    None => Resolved::default(),
                }
            }
            Root::Other => Resolved::default(),
        }
    }

    fn named(&self, name: String) -> Resolved {
        let result = result_type(&name).map(Type::Canonical);
        Resolved {
            name: Some(name),
            target: None,
            result,
        }
    }

    /// `members` looked up on a value of type `t` (`is_class`: on the class itself).
    fn on_type(
        &self,
        t: &Type,
        members: &[String],
        is_class: bool,
        called: bool,
        depth: u32,
    ) -> Resolved {
        if depth > MAX_DEPTH {
            return Resolved::default();
        }
        if members.is_empty() && !called {
            // The value itself (`templates = client["db"]["coll"]`).
            return Resolved {
                result: Some(t.clone()),
                ..Resolved::default()
            };
        }
        match t {
            Type::Canonical(n) => {
                if members.is_empty() && !is_class {
                    // Calling an instance (`classify(text)` after `classify = pipeline(...)`).
                    return Resolved {
                        name: Some(format!("{n}.__call__")),
                        ..Resolved::default()
                    };
                }
                let full = join(n, members);
                let mut r = self.named(normalize_type(&full));
                r.name = Some(full);
                r
            }
            Type::Class(c) => {
                let Some((first, rest)) = members.split_first() else {
                    // Calling the class constructs an instance of it.
                    return Resolved {
                        result: is_class.then_some(Type::Class(*c)),
                        ..Resolved::default()
                    };
                };
                if let Some(m) = self.method(*c, first, 0) {
                    if rest.is_empty() {
                        return Resolved {
                            name: None,
                            target: Some(Target::Local(m)),
                            result: self.returned_type(m, depth),
                        };
                    }
                    return Resolved::default();
                }
                if let Some(attr) = self.attr(*c, first, 0) {
                    if let Some(t) = self.type_of(attr, depth + 1) {
                        return self.on_type(&t, rest, false, called, depth + 1);
                    }
                }
                Resolved::default()
            }
        }
    }

    /// What a function of the file returns, by its annotation.
    fn returned_type(&self, f: FnId, depth: u32) -> Option<Type> {
        let e = self.returns.get(&f)?;
        if depth > MAX_DEPTH {
            return None;
        }
        self.type_of(e, depth + 1)
    }

    /// A method of a class of the file or of its bases defined in the file.
    pub fn method(&self, class: usize, name: &str, depth: u32) -> Option<FnId> {
        let info = self.classes.get(class)?;
        if let Some(m) = info
            .methods
            .iter()
            .copied()
            .find(|&m| self.functions.get(m).and_then(|f| f.name.as_deref()) == Some(name))
        {
            return Some(m);
        }
        if depth > 4 {
            return None;
        }
        info.bases.iter().find_map(|b| match b.root {
            Root::Ident(ref n) if b.members.is_empty() => {
                match self.scopes.lookup(None, n, self.functions) {
                    Some(Binding::Class(bc)) if *bc != class => self.method(*bc, name, depth + 1),
                    _ => None,
                }
            }
            _ => None,
        })
    }

    fn attr(&self, class: usize, name: &str, depth: u32) -> Option<&Expr> {
        let info = self.classes.get(class)?;
        if let Some(e) = info.attrs.get(name) {
            return Some(e);
        }
        if depth > 4 {
            return None;
        }
        info.bases.iter().find_map(|b| match b.root {
            Root::Ident(ref n) if b.members.is_empty() => {
                match self.scopes.lookup(None, n, self.functions) {
                    Some(Binding::Class(bc)) if *bc != class => self.attr(*bc, name, depth + 1),
                    _ => None,
                }
            }
            _ => None,
        })
    }
}

fn join(base: &str, members: &[String]) -> String {
    let mut s = base.to_string();
    for m in members {
        if !(s.is_empty() || s.ends_with('.')) {
            s.push('.');
        }
        s.push_str(m);
    }
    s
}

/// A call through an import may reach a function of the scanned code: `from .db import
/// get_conn` -> (`.db`, `get_conn`); `views.index` after `from . import views` -> (`.views`, `index`).
fn module_target(full: &str) -> Option<Target> {
    let (module, name) = full.rsplit_once('.')?;
    if name.is_empty() {
        return None;
    }
    let module = if module.is_empty() || module.chars().all(|c| c == '.') {
        // `from . import f` -> module `.`
        full[..full.len() - name.len()].to_string()
    } else {
        module.to_string()
    };
    Some(Target::Module {
        module,
        name: name.to_string(),
    })
}
