//! Pass 2, once over every file's model: resolve calls and registrations across files, then
//! decide for each function whether it is on a request path, startup code, an async context.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Component, Path, PathBuf};

use crate::model::{Family, FileModel, FnId, Handler, Role, Runs, Target, Use};

/// What pass 2 knows of a function.
#[derive(Debug, Clone, Default)]
pub struct FnContext {
    /// A handler, or called (transitively) from one, or nested in one.
    pub per_request: bool,
    /// Runs once before requests are served.
    pub startup: bool,
    /// The body of an async function, or a callback it runs inline.
    pub async_body: bool,
    /// A sync function of the same file that an async function or a handler calls.
    pub async_callee: bool,
    /// A sync function of the same file that an async function calls (transitively through
    /// sync functions): it runs on the event loop. Unlike `async_callee`, a sync handler's
    /// helpers do not count (Python runs sync handlers on worker threads).
    pub async_helper: bool,
    /// Runs on another thread (`asyncio.to_thread`, `Task.Run`, a worker script).
    pub other_thread: bool,
    /// The handler whose request path this function is on.
    pub via: Option<(usize, FnId)>,
}

/// A `package.json` the walk found: its directory and the facts the rules use.
#[derive(Debug, Clone, Default)]
pub struct Package {
    pub dir: PathBuf,
    pub dependencies: HashMap<String, String>,
}

impl Package {
    pub fn parse(path: &Path, text: &str) -> Option<Package> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let mut dependencies = HashMap::new();
        for key in ["dependencies", "devDependencies", "peerDependencies"] {
            if let Some(deps) = value.get(key).and_then(|d| d.as_object()) {
                for (name, version) in deps {
                    dependencies.insert(name.clone(), version.as_str().unwrap_or("").to_string());
                }
            }
        }
        Some(Package {
            dir: path.parent().unwrap_or(Path::new("")).to_path_buf(),
            dependencies,
        })
    }

    /// The major version a dependency's range starts at (`^5.0.0` -> 5).
    pub fn major(&self, name: &str) -> Option<u32> {
        let v = self.dependencies.get(name)?;
        let digits: String = v
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }
}

pub struct Project {
    pub files: Vec<FileModel>,
    pub contexts: Vec<Vec<FnContext>>,
    /// For each file, the nearest `package.json` above it.
    package_of: Vec<Option<usize>>,
    pub packages: Vec<Package>,
    /// Every module any file imports.
    imported: HashSet<String>,
    /// File path without extension -> file, for relative JS imports.
    by_stem: HashMap<PathBuf, usize>,
    /// (family, export name) -> functions, for languages that export by qualified name.
    by_export: HashMap<(Family, String), Vec<(usize, FnId)>>,
    /// Python: every dotted suffix of a module path (`app.routers.tickets`, `routers.tickets`,
    /// `tickets`) -> the files it may name.
    py_modules: HashMap<String, Vec<usize>>,
    /// Python: normalized path without extension (a package's directory for `__init__.py`) -> file.
    py_stems: HashMap<PathBuf, usize>,
}

impl Project {
    pub fn link(files: Vec<FileModel>, packages: Vec<Package>) -> Project {
        let mut by_stem = HashMap::new();
        let mut by_export: HashMap<(Family, String), Vec<(usize, FnId)>> = HashMap::new();
        let mut imported = HashSet::new();
        let mut py_modules: HashMap<String, Vec<usize>> = HashMap::new();
        let mut py_stems: HashMap<PathBuf, usize> = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            if f.language.map(|l| l.family()) == Some(Family::Python) {
                for key in python_module_keys(&f.path) {
                    py_modules.entry(key).or_default().push(i);
                }
                let stem = normalize(&f.path.with_extension(""));
                if stem.file_name().is_some_and(|n| n == "__init__") {
                    if let Some(dir) = stem.parent() {
                        py_stems.insert(dir.to_path_buf(), i);
                    }
                } else {
                    py_stems.entry(stem).or_insert(i);
                }
            }
            let stem = normalize(&f.path.with_extension(""));
            if stem
                .file_name()
                .is_some_and(|n| n == "index" || n == "__init__")
            {
                if let Some(dir) = stem.parent() {
                    by_stem.entry(dir.to_path_buf()).or_insert(i);
                }
            }
            by_stem.insert(stem, i);
            imported.extend(f.imports.iter().cloned());
            if let Some(lang) = f.language {
                for e in &f.exports {
                    by_export
                        .entry((lang.family(), e.name.clone()))
                        .or_default()
                        .push((i, e.function));
                }
            }
        }
        // The nearest package.json: the first ancestor directory that has one.
        let by_dir: HashMap<&Path, usize> = packages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.dir.as_path(), i))
            .collect();
        let package_of = files
            .iter()
            .map(|f| {
                f.path
                    .ancestors()
                    .skip(1)
                    .find_map(|d| by_dir.get(d).copied())
            })
            .collect();
        let mut project = Project {
            contexts: files
                .iter()
                .map(|f| vec![FnContext::default(); f.functions.len()])
                .collect(),
            files,
            package_of,
            packages,
            imported,
            by_stem,
            by_export,
            py_modules,
            py_stems,
        };
        project.apply_registrations();
        project.compute_contexts();
        project
    }

    pub fn package(&self, file: usize) -> Option<&Package> {
        self.package_of[file].map(|p| &self.packages[p])
    }

    pub fn imported_anywhere(&self, module: &str) -> bool {
        self.imported.contains(module)
    }

    /// The function of the scanned code a call or registration target names.
    pub fn resolve(&self, file: usize, target: &Target) -> Option<(usize, FnId)> {
        match target {
            Target::Local(f) => Some((file, *f)),
            Target::File { path, name } => {
                let p = normalize(Path::new(path));
                let target_file = self
                    .by_stem
                    .get(&p)
                    .or_else(|| self.by_stem.get(&p.with_extension("")))?;
                self.files[*target_file]
                    .exports
                    .iter()
                    .find(|e| e.name == *name)
                    .map(|e| (*target_file, e.function))
            }
            Target::Module { module, name } => {
                let from = &self.files[file];
                let family = from.language?.family();
                match family {
                    Family::JavaScript => {
                        let dir = from.path.parent().unwrap_or(Path::new(""));
                        let joined = normalize(&dir.join(module));
                        let target_file = self
                            .by_stem
                            .get(&joined)
                            .or_else(|| self.by_stem.get(&joined.with_extension("")))?;
                        let f = &self.files[*target_file];
                        f.exports
                            .iter()
                            .find(|e| e.name == *name)
                            .map(|e| (*target_file, e.function))
                    }
                    Family::Python => self.resolve_python(file, module, name),
                    Family::CSharp => self.resolve_csharp(module, name),
                }
            }
        }
    }

    /// A Python import target: the module as written (`.db`, `..services.mail`, `app.deps`)
    /// resolved to a file of the scanned tree, then the function it exports. When the module
    /// part is really `module.Class` (`from .svc import Mailer; Mailer.send`), the class moves
    /// into the name.
    fn resolve_python(&self, file: usize, module: &str, name: &str) -> Option<(usize, FnId)> {
        let mut module = module.to_string();
        let mut name = name.to_string();
        for _ in 0..3 {
            if let Some(target) = self.python_module(file, &module) {
                let f = &self.files[target];
                return f
                    .exports
                    .iter()
                    .find(|e| e.name == name)
                    .map(|e| (target, e.function));
            }
            let (rest, last) = module.rsplit_once('.')?;
            if last.is_empty() {
                return None;
            }
            name = format!("{last}.{name}");
            module = if rest.is_empty() || rest.chars().all(|c| c == '.') {
                // `.svc` -> `.` keeps the relative prefix.
                module[..module.len() - last.len()].to_string()
            } else {
                rest.to_string()
            };
            if module.is_empty() {
                return None;
            }
        }
        None
    }

    /// The file a Python module names, relative to `file` (`.db`, `..`) or by its dotted path.
    fn python_module(&self, file: usize, module: &str) -> Option<usize> {
        let dots = module.chars().take_while(|&c| c == '.').count();
        if dots > 0 {
            let mut dir = self.files[file].path.parent()?.to_path_buf();
            for _ in 1..dots {
                dir = dir.parent()?.to_path_buf();
            }
            for part in module[dots..].split('.').filter(|p| !p.is_empty()) {
                dir.push(part);
            }
            return self.py_stems.get(&normalize(&dir)).copied();
        }
        let found = self.py_modules.get(module)?;
        // A module name several files could be is ambiguous: stay silent.
        (found.len() == 1).then(|| found[0])
    }

    /// `Class.Method` or `IService.Method` (a call through an injected interface): the method of
    /// the class, or of the one class implementing the interface. Overloads in one class resolve
    /// to the first; a name several classes define stays unresolved.
    fn resolve_csharp(&self, module: &str, name: &str) -> Option<(usize, FnId)> {
        let found = self
            .by_export
            .get(&(Family::CSharp, format!("{module}.{name}")))?;
        let class_of = |&(file, f): &(usize, FnId)| self.files[file].functions[f].class.as_deref();
        // The interface's own declaration has no body: prefer what implements it.
        let implementations: Vec<&(usize, FnId)> = found
            .iter()
            .filter(|c| class_of(c) != Some(module))
            .collect();
        let candidates: Vec<&(usize, FnId)> = if implementations.is_empty() {
            found.iter().collect()
        } else {
            implementations
        };
        let first = candidates.first()?;
        let one_class = candidates
            .iter()
            .all(|c| c.0 == first.0 && class_of(c) == class_of(first));
        one_class.then_some(**first)
    }

    /// Registrations of handlers defined elsewhere make those functions handlers.
    fn apply_registrations(&mut self) {
        let mut updates = Vec::new();
        let mut startups = Vec::new();
        for (i, f) in self.files.iter().enumerate() {
            for r in &f.registrations {
                if let Some((file, func)) = self.resolve(i, &r.target) {
                    if r.startup {
                        startups.push((file, func));
                        continue;
                    }
                    let mut framework = r.framework.clone();
                    if framework.is_empty() {
                        framework = self.framework_from_package(i);
                    }
                    updates.push((
                        file,
                        func,
                        Handler {
                            framework,
                            route: r.route.clone(),
                            wrapped: r.wrapped,
                            validated: r.validated,
                            middleware: r.middleware.clone(),
                        },
                    ));
                }
            }
        }
        for (file, func) in startups {
            let role = &mut self.files[file].functions[func].role;
            if *role == Role::Plain {
                *role = Role::Startup;
            }
        }
        for (file, func, handler) in updates {
            let role = &mut self.files[file].functions[func].role;
            match role {
                // A function registered twice keeps the first route; a wrapper anywhere protects it.
                Role::Handler(h) => {
                    if h.framework.is_empty() {
                        h.framework = handler.framework;
                    }
                    if h.route.is_empty() {
                        h.route = handler.route;
                    }
                    h.wrapped |= handler.wrapped;
                    h.validated |= handler.validated;
                    h.middleware.extend(handler.middleware);
                }
                _ => *role = Role::Handler(handler),
            }
        }
    }

    fn framework_from_package(&self, file: usize) -> String {
        let Some(p) = self.package(file) else {
            return String::new();
        };
        [
            "express",
            "fastify",
            "koa",
            "@hapi/hapi",
            "restify",
            "next",
            "@nestjs/core",
        ]
        .iter()
        .find(|d| p.dependencies.contains_key(**d))
        .map(|d| match *d {
            "@hapi/hapi" => "hapi",
            "@nestjs/core" => "nest",
            other => other,
        })
        .unwrap_or("")
        .to_string()
    }

    fn compute_contexts(&mut self) {
        // Call edges: caller (file, fn or None for module level) -> callee (file, fn).
        // Callers of each function: (file, calling function or `None` for module level).
        type Callers = HashMap<(usize, FnId), Vec<(usize, Option<FnId>)>>;
        let mut callers: Callers = HashMap::new();
        let mut callees: HashMap<(usize, FnId), Vec<(usize, FnId)>> = HashMap::new();
        for (i, f) in self.files.iter().enumerate() {
            for c in &f.calls {
                let Some(t) = &c.target else { continue };
                let Some(callee) = self.resolve(i, t) else {
                    continue;
                };
                // A coroutine handed to `create_task` runs beside the caller, not within it:
                // started at startup, it still runs while requests are served.
                if c.result != Use::Spawned {
                    callers.entry(callee).or_default().push((i, c.in_fn));
                }
                if let Some(caller) = c.in_fn {
                    callees.entry((i, caller)).or_default().push(callee);
                }
            }
        }
        let children: Vec<Vec<Vec<FnId>>> = self
            .files
            .iter()
            .map(|f| {
                let mut ch = vec![Vec::new(); f.functions.len()];
                for (id, func) in f.functions.iter().enumerate() {
                    if let Some(p) = func.parent {
                        ch[p].push(id);
                    }
                }
                ch
            })
            .collect();

        // Request path: from every handler through calls and nested functions.
        let mut queue = VecDeque::new();
        for (i, f) in self.files.iter().enumerate() {
            for (id, func) in f.functions.iter().enumerate() {
                if matches!(func.role, Role::Handler(_)) {
                    self.contexts[i][id].per_request = true;
                    self.contexts[i][id].via = Some((i, id));
                    queue.push_back((i, id));
                }
            }
        }
        while let Some((i, id)) = queue.pop_front() {
            let via = self.contexts[i][id].via;
            let nested = children[i][id].iter().map(|&c| (i, c));
            let called = callees.get(&(i, id)).into_iter().flatten().copied();
            for (fi, fid) in nested.chain(called).collect::<Vec<_>>() {
                let func = &self.files[fi].functions[fid];
                if func.runs == Runs::OtherThread || func.role == Role::Startup {
                    continue;
                }
                let ctx = &mut self.contexts[fi][fid];
                if !ctx.per_request {
                    ctx.per_request = true;
                    ctx.via = via;
                    queue.push_back((fi, fid));
                }
            }
        }

        // Startup: declared so, or only ever called from startup code; inline callbacks of it.
        for (i, f) in self.files.iter().enumerate() {
            for (id, func) in f.functions.iter().enumerate() {
                if func.role == Role::Startup && !self.contexts[i][id].per_request {
                    self.contexts[i][id].startup = true;
                }
            }
        }
        loop {
            let mut changed = false;
            for i in 0..self.files.len() {
                for id in 0..self.files[i].functions.len() {
                    if self.contexts[i][id].startup || self.contexts[i][id].per_request {
                        continue;
                    }
                    let func = &self.files[i].functions[id];
                    if matches!(func.role, Role::Handler(_)) {
                        continue;
                    }
                    let inline_in_startup = func.runs == Runs::Inline
                        && func.parent.is_some_and(|p| self.contexts[i][p].startup);
                    let only_startup_callers = callers.get(&(i, id)).is_some_and(|cs| {
                        cs.iter().all(|&(ci, cf)| match cf {
                            None => true,
                            Some(cf) => self.contexts[ci][cf].startup,
                        })
                    });
                    if inline_in_startup || only_startup_callers {
                        self.contexts[i][id].startup = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }

        // Async bodies and other threads, parents before children (ids are in pre-order).
        for (i, f) in self.files.iter().enumerate() {
            for (id, func) in f.functions.iter().enumerate() {
                let parent = func.parent.map(|p| self.contexts[i][p].clone());
                let ctx = &mut self.contexts[i][id];
                ctx.async_body = func.is_async
                    || (func.runs == Runs::Inline && parent.as_ref().is_some_and(|p| p.async_body));
                ctx.other_thread = func.runs == Runs::OtherThread
                    || parent.as_ref().is_some_and(|p| p.other_thread);
            }
        }

        // Sync functions of the same file that async functions or handlers call.
        for i in 0..self.files.len() {
            let mut queue: VecDeque<FnId> = (0..self.files[i].functions.len())
                .filter(|&id| {
                    self.contexts[i][id].async_body
                        || matches!(self.files[i].functions[id].role, Role::Handler(_))
                })
                .collect();
            while let Some(id) = queue.pop_front() {
                for &(fi, fid) in callees.get(&(i, id)).into_iter().flatten() {
                    if fi != i || self.contexts[i][fid].async_body {
                        continue;
                    }
                    if !self.contexts[i][fid].async_callee {
                        self.contexts[i][fid].async_callee = true;
                        queue.push_back(fid);
                    }
                }
            }
            // The same from async bodies alone: what runs on the event loop.
            let mut queue: VecDeque<FnId> = (0..self.files[i].functions.len())
                .filter(|&id| self.contexts[i][id].async_body && !self.contexts[i][id].other_thread)
                .collect();
            while let Some(id) = queue.pop_front() {
                for &(fi, fid) in callees.get(&(i, id)).into_iter().flatten() {
                    if fi != i
                        || self.contexts[i][fid].async_body
                        || self.files[i].functions[fid].runs == Runs::OtherThread
                    {
                        continue;
                    }
                    if !self.contexts[i][fid].async_helper {
                        self.contexts[i][fid].async_helper = true;
                        queue.push_back(fid);
                    }
                }
            }
        }
    }
}

/// The dotted names a Python file may be imported by: every suffix of its module path
/// (`src/app/deps.py` -> `deps`, `app.deps`, `src.app.deps`; a package's `__init__.py` is
/// the package).
pub fn python_module_keys(path: &Path) -> Vec<String> {
    let stem = normalize(&path.with_extension(""));
    let mut parts: Vec<String> = stem
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str().map(str::to_string),
            _ => None,
        })
        .collect();
    if parts.last().is_some_and(|p| p == "__init__") {
        parts.pop();
    }
    (0..parts.len())
        .map(|i| parts[i..].join("."))
        .filter(|k| !k.is_empty())
        .collect()
}

/// The modules the walk found, known before any file is lowered: a call into a module that is
/// not in the scanned tree cannot become a call-graph edge, so it need not be kept.
#[derive(Debug, Default)]
pub struct KnownModules {
    python: HashSet<String>,
}

impl KnownModules {
    pub fn from_paths(paths: &[PathBuf]) -> KnownModules {
        let python = paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "py" || e == "pyi"))
            .flat_map(|p| python_module_keys(p))
            .collect();
        KnownModules { python }
    }

    /// Whether a call target may resolve to a function of the scanned tree.
    pub fn may_resolve(&self, family: Family, target: &Target) -> bool {
        match (family, target) {
            (Family::Python, Target::Module { module, .. }) if !module.starts_with('.') => {
                // `pkg.mod.Class` may name `pkg/mod.py`: try the module and its parents.
                let mut m = module.as_str();
                for _ in 0..4 {
                    if self.python.contains(m) {
                        return true;
                    }
                    match m.rsplit_once('.') {
                        Some((rest, _)) => m = rest,
                        None => return false,
                    }
                }
                false
            }
            _ => true,
        }
    }
}

/// `a/b/../c/./d` -> `a/c/d`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}
