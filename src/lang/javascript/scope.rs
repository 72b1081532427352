//! Bindings per function scope and the resolution of callees to canonical names
//! (`rf` -> `fs.readFileSync` after `import { readFileSync as rf } from 'node:fs'`).

use crate::lang::kind_of;
use std::collections::HashMap;

use crate::lang::ScopeTables;

use tree_sitter::Node;

use crate::lang::field;

use super::super::{text, unquote};
use crate::model::{FnId, Function, Target};

/// The root of a callee's member chain.
#[derive(Debug, Clone)]
pub enum Root {
    Ident(String),
    This,
    /// `require('x')` or `import('x')` used in place.
    Module(String),
    /// The result of another call (`router.route('/x')` in `router.route('/x').get`).
    Call,
    Other,
}

#[derive(Debug, Clone)]
pub enum Binding {
    /// An import: the canonical prefix, and for cross-file calls the module as written and the
    /// export name (`None` when the binding is the module itself).
    Module {
        canonical: String,
        module: String,
        export: Option<String>,
        /// The file of the scanned tree a path alias maps the module to.
        file: Option<String>,
    },
    Function(FnId),
    /// A class declared in this file.
    Class(String),
    /// `new X(...)`: calls on it resolve as `X.method`.
    Instance(Root, Vec<String>),
    /// Request input (`const { email } = req.body`): its access path.
    Input(String),
    /// A local value the front-end knows nothing more of; it shadows imports and globals.
    Value,
}

impl Binding {
    pub fn module(spec: &str, export: Option<&str>) -> Binding {
        let base = normalize_module(spec);
        let canonical = match export {
            // A default import of a package is the package itself (`import fs from 'fs'`).
            None | Some("default") => base.clone(),
            Some(e) => format!("{base}.{e}"),
        };
        Binding::Module {
            canonical,
            module: spec.to_string(),
            export: export.map(str::to_string),
            file: None,
        }
    }
}

/// `node:fs/promises` -> `fs.promises`; relative specifiers stay as written.
pub fn normalize_module(spec: &str) -> String {
    let spec = spec.strip_prefix("node:").unwrap_or(spec);
    if spec.starts_with('.') || spec.starts_with('/') || spec.starts_with('@') {
        spec.to_string()
    } else {
        spec.replace('/', ".")
    }
}

#[derive(Default)]
pub struct Scopes {
    /// Index 0 is the module; function `f` is `f + 1`.
    tables: ScopeTables<Binding>,
    params: HashMap<FnId, Vec<String>>,
    /// (class, field) -> the class name its type annotation gives (`private users: UsersService`).
    fields: HashMap<(String, String), String>,
}

#[derive(Default)]
pub struct Resolved {
    pub name: Option<String>,
    pub target: Option<Target>,
    pub is_async: bool,
}

impl Scopes {
    fn get(&self, scope: Option<FnId>, name: &str) -> Option<&Binding> {
        self.tables.get(scope, name)
    }

    /// Declare `name` in `scope`; `overwrite` is false for parameters so that a later
    /// `var` of the same name does not lose the parameter's meaning.
    pub fn declare(&mut self, scope: Option<FnId>, name: &str, binding: Binding, overwrite: bool) {
        if name.is_empty() {
            return;
        }
        let table = self.tables.table(scope);
        if overwrite || !table.contains_key(name) {
            table.insert(name.to_string(), binding);
        }
    }

    pub fn declared_in(&self, scope: Option<FnId>, name: &str) -> bool {
        self.get(scope, name).is_some()
    }

    pub fn set_field_type(&mut self, class: &str, field: &str, ty: &str) {
        self.fields
            .insert((class.to_string(), field.to_string()), ty.to_string());
    }

    pub fn set_params(&mut self, f: FnId, names: Vec<String>) {
        self.params.insert(f, names);
    }

    pub fn params(&self, f: FnId) -> &[String] {
        self.params.get(&f).map_or(&[], Vec::as_slice)
    }

    /// The nearest binding of `name` from `scope` outwards.
    pub fn lookup(
        &self,
        mut scope: Option<FnId>,
        name: &str,
        functions: &[Function],
    ) -> Option<&Binding> {
        // Bounded: a 20,000-deep nest of closures must not make every lookup quadratic.
        for _ in 0..256 {
            if let Some(b) = self.get(scope, name) {
                return Some(b);
            }
            scope = functions.get(scope?)?.parent;
        }
        self.get(None, name)
    }

    pub fn resolve(
        &self,
        scope: Option<FnId>,
        root: &Root,
        members: &[String],
        functions: &[Function],
    ) -> Resolved {
        self.resolve_depth(scope, root, members, functions, 0)
    }

    fn resolve_depth(
        &self,
        scope: Option<FnId>,
        root: &Root,
        members: &[String],
        functions: &[Function],
        depth: u32,
    ) -> Resolved {
        let join = |base: &str| -> String {
            let mut s = base.to_string();
            for m in members {
                s.push('.');
                s.push_str(m);
            }
            s
        };
        match root {
            Root::Ident(name) => match self.lookup(scope, name, functions) {
                None => Resolved {
                    name: Some(join(name)),
                    ..Resolved::default()
                },
                Some(Binding::Module {
                    canonical,
                    module,
                    export,
                    file,
                }) => {
                    let name = match (export.as_deref(), members) {
                        (None, [m]) => Some(m.clone()),
                        (None, []) => Some("default".to_string()),
                        (Some(e), []) => Some(e.to_string()),
                        _ => None,
                    };
                    let target = name.and_then(|name| module_target(module, file, name));
                    Resolved {
                        name: Some(join(canonical)),
                        target,
                        is_async: false,
                    }
                }
                Some(Binding::Function(f)) if members.is_empty() => Resolved {
                    name: None,
                    target: Some(Target::Local(*f)),
                    is_async: functions.get(*f).is_some_and(|f| f.returns_task),
                },
                Some(Binding::Instance(r, ms)) if depth < 4 => {
                    self.resolve_instance(scope, r, ms, members, functions, depth)
                }
                Some(Binding::Class(class)) => Resolved {
                    name: None,
                    target: match members {
                        [m] => method_of(class, m, functions).map(Target::Local),
                        _ => None,
                    },
                    is_async: false,
                },
                Some(_) => Resolved::default(),
            },
            Root::Module(spec) => {
                let base = normalize_module(spec);
                Resolved {
                    name: Some(join(&base)),
                    target: match members {
                        [m] if spec.starts_with('.') => Some(Target::Module {
                            module: spec.clone(),
                            name: m.clone(),
                        }),
                        _ => None,
                    },
                    is_async: false,
                }
            }
            Root::This => {
                // `this.method()` inside a class: a method of the same class;
                // `this.users.find()`: a method of the field's declared type.
                let class = scope
                    .and_then(|s| enclosing_class(s, functions))
                    .map(str::to_string);
                if let (Some(class), [field, rest @ ..]) = (&class, members) {
                    if let Some(ty) = self.fields.get(&(class.clone(), field.clone())) {
                        if depth < 4 && !rest.is_empty() {
                            let ty = Root::Ident(ty.clone());
                            return self.resolve_instance(scope, &ty, &[], rest, functions, depth);
                        }
                    }
                }
                let target = match (class, members) {
                    (Some(class), [m]) => method_of(&class, m, functions).map(Target::Local),
                    _ => None,
                };
                let is_async =
                    matches!(target, Some(Target::Local(f)) if functions[f].returns_task);
                Resolved {
                    name: None,
                    target,
                    is_async,
                }
            }
            Root::Call | Root::Other => Resolved::default(),
        }
    }
}

/// Where an imported name lives in the scanned tree: a relative module, or a file a path
/// alias maps to; packages are not in the tree.
fn module_target(module: &str, file: &Option<String>, name: String) -> Option<Target> {
    match file {
        Some(path) => Some(Target::File {
            path: path.clone(),
            name,
        }),
        None if module.starts_with('.') => Some(Target::Module {
            module: module.to_string(),
            name,
        }),
        None => None,
    }
}

/// The method `m` of a class declared in this file.
fn method_of(class: &str, m: &str, functions: &[Function]) -> Option<FnId> {
    functions
        .iter()
        .position(|f| f.class.as_deref() == Some(class) && f.name.as_deref() == Some(m))
}

impl Scopes {
    /// A method call on an instance of the class `class_root.class_members`: a method of a
    /// class of this file, of a class another file exports (`Class.method`), or a canonical
    /// `pkg.Class().method` name.
    fn resolve_instance(
        &self,
        scope: Option<FnId>,
        class_root: &Root,
        class_members: &[String],
        members: &[String],
        functions: &[Function],
        depth: u32,
    ) -> Resolved {
        if let (Root::Ident(c), [], [m]) = (class_root, class_members, members) {
            match self.lookup(scope, c, functions) {
                Some(Binding::Class(class)) => {
                    let target = method_of(class, m, functions);
                    return Resolved {
                        name: None,
                        is_async: target.is_some_and(|f| functions[f].returns_task),
                        target: target.map(Target::Local),
                    };
                }
                Some(Binding::Module {
                    module,
                    export: Some(e),
                    file,
                    ..
                }) => {
                    if let Some(target) = module_target(module, file, format!("{e}.{m}")) {
                        return Resolved {
                            name: None,
                            target: Some(target),
                            is_async: false,
                        };
                    }
                }
                _ => {}
            }
        }
        // `new X()` then `x.m()` is `X().m`: an instance method, not the static `X.m`.
        let base = self.resolve_depth(scope, class_root, class_members, functions, depth + 1);
        let mut name = base.name.map(|b| format!("{b}()"));
        if let Some(n) = &mut name {
            for m in members {
                n.push('.');
                n.push_str(m);
            }
        }
        Resolved {
            name,
            ..Resolved::default()
        }
    }
}

fn enclosing_class(mut f: FnId, functions: &[Function]) -> Option<&str> {
    loop {
        let func = functions.get(f)?;
        if let Some(c) = &func.class {
            return Some(c);
        }
        f = func.parent?;
    }
}

/// Split a callee into its root and member names: `a.b.c` -> (a, [b, c]).
/// The third value is the node of a receiver call (`x()` in `x().y`).
pub fn decompose(node: Node, src: &str) -> (Root, Vec<String>, Option<usize>) {
    let mut members = Vec::new();
    let mut node = node;
    let mut depth = 0;
    let root = loop {
        depth += 1;
        if depth > 64 {
            break Root::Other;
        }
        match kind_of(node) {
            "member_expression" => {
                let Some(prop) = field(node, "property") else {
                    break Root::Other;
                };
                members.push(text(prop, src).to_string());
                match field(node, "object") {
                    Some(o) => node = o,
                    None => break Root::Other,
                }
            }
            "identifier" => break Root::Ident(text(node, src).to_string()),
            "this" => break Root::This,
            "parenthesized_expression"
            | "non_null_expression"
            | "as_expression"
            | "await_expression"
            | "satisfies_expression" => match node.named_child(0) {
                Some(c) => node = c,
                None => break Root::Other,
            },
            "call_expression" => {
                if let Some(spec) = require_spec(node, src) {
                    break Root::Module(spec);
                }
                members.reverse();
                return (Root::Call, members, Some(node.id()));
            }
            _ => break Root::Other,
        }
    };
    members.reverse();
    (root, members, None)
}

/// `require('x')` / `import('x')` -> `x`.
fn require_spec(node: Node, src: &str) -> Option<String> {
    let f = field(node, "function")?;
    if !matches!(text(f, src), "require" | "import") {
        return None;
    }
    let arg = field(node, "arguments")?.named_child(0)?;
    (kind_of(arg) == "string").then(|| unquote(text(arg, src)).to_string())
}

/// A declarator value that loads a module: `require('x')`, `require('x').y.z`, `await import('x')`.
pub fn required_module(value: Node, src: &str) -> Option<(String, Option<String>)> {
    let (root, members, _) = decompose(value, src);
    match (root, kind_of(value)) {
        (Root::Module(spec), "call_expression" | "member_expression" | "await_expression") => {
            let member = (!members.is_empty()).then(|| members.join("."));
            Some((spec, member))
        }
        _ => None,
    }
}

/// The callee as written, with receiver calls shown as `()`: `router.route().get`.
pub fn callee_text(node: Node, src: &str) -> String {
    callee_text_depth(node, src, 0)
}

fn callee_text_depth(node: Node, src: &str, depth: u32) -> String {
    let (root, members, _) = decompose(node, src);
    text_of(node, &root, &members, src, depth)
}

/// The callee as written, from its decomposition (see [`callee_text`]).
pub fn text_of(node: Node, root: &Root, members: &[String], src: &str, depth: u32) -> String {
    let mut s = match root {
        Root::Ident(n) => n.clone(),
        Root::This => "this".to_string(),
        Root::Module(m) => format!("require('{m}')"),
        Root::Call => {
            // The receiver call's own callee, abbreviated.
            let inner = field(node, "object")
                .and_then(|o| field(o, "function"))
                .filter(|_| depth < 3)
                .map(|f| callee_text_depth(f, src, depth + 1))
                .unwrap_or_default();
            format!("{inner}()")
        }
        Root::Other => {
            let t = text(node, src);
            if members.is_empty() {
                return t.chars().take(80).collect();
            }
            "(…)".to_string()
        }
    };
    for m in members {
        s.push('.');
        s.push_str(m);
    }
    s
}
