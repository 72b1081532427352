//! Language front-ends: each lowers a tree-sitter tree into the language-neutral model.
//!
//! Trees can be 20,000 levels deep: walk them with cursors or explicit stacks, and keep an
//! ancestor stack instead of calling `Node::parent()` per node (it walks down from the root,
//! so a parent lookup per node is quadratic on deep trees).

use std::path::Path;

use tree_sitter::{Language as Grammar, Node};

use crate::model::{FileModel, Language};

pub mod chunks;
pub mod csharp;
pub mod javascript;
pub mod python;

/// Per grammar, the field ids looked up so far, by the address of the field name.
type FieldIds = [Vec<(usize, Option<u16>)>; 5];

thread_local! {
    /// The grammar being lowered on this thread (see [`grammar_index`]) and its cached field ids.
    static FIELDS: std::cell::RefCell<(usize, FieldIds)> =
        std::cell::RefCell::new((0, Default::default()));
}

/// The grammars, in the order of [`grammar_index`].
fn grammars() -> [Grammar; 5] {
    [
        tree_sitter_javascript::LANGUAGE.into(),
        tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        tree_sitter_typescript::LANGUAGE_TSX.into(),
        tree_sitter_python::LANGUAGE.into(),
        tree_sitter_c_sharp::LANGUAGE.into(),
    ]
}

/// A small index per grammar, for the field-id cache: the grammars differ in their counts of
/// node kinds and fields (a Flow file is parsed as TypeScript whatever its extension says).
fn grammar_index(root: Node) -> usize {
    static SHAPES: std::sync::OnceLock<[(usize, usize); 5]> = std::sync::OnceLock::new();
    let shapes = SHAPES.get_or_init(|| grammars().map(|g| (g.node_kind_count(), g.field_count())));
    let lang = root.language();
    let shape = (lang.node_kind_count(), lang.field_count());
    shapes.iter().position(|s| *s == shape).unwrap_or(0)
}

/// `node.kind()` without its cost: tree-sitter's binding turns the kind name into a `&str` with a
/// `strlen` and a UTF-8 check on every call; the names are looked up once per grammar here.
pub fn kind_of<'t>(node: impl std::borrow::Borrow<Node<'t>>) -> &'static str {
    let node = *node.borrow();
    static KINDS: std::sync::OnceLock<[Vec<&'static str>; 5]> = std::sync::OnceLock::new();
    let kinds = KINDS.get_or_init(|| {
        grammars().map(|g| {
            (0..g.node_kind_count())
                .map(|id| g.node_kind_for_id(id as u16).unwrap_or(""))
                .collect()
        })
    });
    let grammar = FIELDS.with(|cell| cell.borrow().0);
    kinds[grammar]
        .get(usize::from(node.kind_id()))
        .copied()
        .unwrap_or_else(|| node.kind())
}

/// `node.child_by_field_name(name)` without tree-sitter's linear scan of every field name on
/// each call (a measurable share of lowering): ids are looked up once per grammar and thread.
pub fn field<'t>(node: Node<'t>, name: &'static str) -> Option<Node<'t>> {
    let id = FIELDS.with(|cell| {
        let mut cell = cell.borrow_mut();
        let (current, tables) = &mut *cell;
        let table = &mut tables[*current];
        let key = name.as_ptr() as usize;
        match table.iter().find(|(k, _)| *k == key) {
            Some(&(_, id)) => id,
            None => {
                let id = node.language().field_id_for_name(name).map(|f| f.get());
                table.push((key, id));
                id
            }
        }
    })?;
    node.child_by_field_id(id)
}

/// Name bindings per scope: index 0 is the module, function `f` is `f + 1`. Each front-end
/// keeps its own kind of binding in it.
#[derive(Debug)]
pub struct ScopeTables<B> {
    tables: Vec<std::collections::HashMap<String, B>>,
}

impl<B> Default for ScopeTables<B> {
    fn default() -> Self {
        ScopeTables { tables: Vec::new() }
    }
}

impl<B> ScopeTables<B> {
    /// The table of a scope, made on first use.
    pub fn table(
        &mut self,
        scope: Option<crate::model::FnId>,
    ) -> &mut std::collections::HashMap<String, B> {
        let i = scope.map_or(0, |f| f + 1);
        if self.tables.len() <= i {
            self.tables.resize_with(i + 1, Default::default);
        }
        &mut self.tables[i]
    }

    /// The binding of `name` in exactly this scope.
    pub fn get(&self, scope: Option<crate::model::FnId>, name: &str) -> Option<&B> {
        self.tables.get(scope.map_or(0, |f| f + 1))?.get(name)
    }
}

/// What the front-ends know of the project before they lower a file.
#[derive(Debug, Default)]
pub struct LowerContext {
    /// tsconfig/jsconfig path aliases.
    pub aliases: javascript::aliases::ImportAliases,
    /// `[extend] handlers`: registration methods (`app.addRoute('/x', fn)`) or decorators
    /// (`@api.endpoint(...)`) a team's own code registers handlers with.
    pub handlers: Vec<String>,
}

/// Which grammar parses a file, by extension.
pub fn detect(path: &Path) -> Option<(Language, Grammar)> {
    let ext = path.extension()?.to_str()?;
    Some(match ext {
        "js" | "mjs" | "cjs" | "jsx" => (
            Language::JavaScript,
            tree_sitter_javascript::LANGUAGE.into(),
        ),
        "ts" | "mts" | "cts" => (
            Language::TypeScript,
            tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        ),
        "tsx" => (
            Language::TypeScript,
            tree_sitter_typescript::LANGUAGE_TSX.into(),
        ),
        "py" | "pyi" => (Language::Python, tree_sitter_python::LANGUAGE.into()),
        "cs" => (Language::CSharp, tree_sitter_c_sharp::LANGUAGE.into()),
        _ => return None,
    })
}

/// Lower a parsed file with its language's front-end.
pub fn lower(
    language: Language,
    root: Node,
    source: &str,
    path: &Path,
    cx: &LowerContext,
) -> FileModel {
    FIELDS.with(|cell| cell.borrow_mut().0 = grammar_index(root));
    let mut model = match language {
        Language::JavaScript | Language::TypeScript => javascript::lower(root, source, path, cx),
        Language::Python => python::lower(root, source, path, &cx.handlers),
        Language::CSharp => csharp::lower(root, source, path),
    };
    model.language = Some(language);
    model.path = path.to_path_buf();
    model.is_test = is_test_path(path);
    model.is_tooling = model.is_test || is_tooling_path(path) || source.starts_with("#!");
    model
}

/// The source text of a node ("" when the range is not valid UTF-8 boundaries).
pub fn text<'s>(node: Node, source: &'s str) -> &'s str {
    source.get(node.byte_range()).unwrap_or("")
}

/// A front-end's lowering pass, as the shared walk drives it.
pub trait Visitor<'t> {
    fn visit(&mut self, node: Node<'t>);
    /// The ancestors of the node being visited, innermost last, kept by the walk.
    fn ancestors(&mut self) -> &mut Vec<Node<'t>>;
    /// Whether the walk enters a node of this kind (subtrees with nothing to record are skipped).
    fn descend(&self, kind: &str) -> bool;
}

/// Pre-order over the tree with an explicit ancestor stack: no recursion (trees can be 20,000
/// deep) and no `Node::parent()`, which walks down from the root on every call.
pub fn walk_with_ancestors<'t>(root: Node<'t>, v: &mut impl Visitor<'t>) {
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        v.visit(node);
        if v.descend(node.kind()) && cursor.goto_first_child() {
            v.ancestors().push(node);
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
            v.ancestors().pop();
        }
    }
}

/// The named children of a node, in one cursor pass without allocating
/// (`named_child(i)` walks from the first child each time).
pub fn named_children<'t>(node: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    NamedChildren {
        cursor: node.walk(),
        started: false,
    }
}

struct NamedChildren<'t> {
    cursor: tree_sitter::TreeCursor<'t>,
    started: bool,
}

impl<'t> Iterator for NamedChildren<'t> {
    type Item = Node<'t>;

    fn next(&mut self) -> Option<Node<'t>> {
        loop {
            let moved = if self.started {
                self.cursor.goto_next_sibling()
            } else {
                self.started = true;
                self.cursor.goto_first_child()
            };
            if !moved {
                return None;
            }
            let node = self.cursor.node();
            if node.is_named() {
                return Some(node);
            }
        }
    }
}

/// Calls `visit` on every node in pre-order, without recursion (trees can be 20,000 deep).
pub fn preorder<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>)) {
    let mut cursor = root.walk();
    loop {
        visit(cursor.node());
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() || cursor.node() == root {
                return;
            }
        }
    }
}

/// Counts the ERROR and MISSING nodes tree-sitter recovered from.
pub fn count_errors(root: Node) -> u32 {
    if !root.has_error() {
        return 0;
    }
    let mut n = 0;
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            n += 1;
        }
        // Only descend into subtrees that contain an error.
        if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return n;
            }
        }
    }
}

/// A string literal's content without its quotes (and prefixes such as `f`, `r`, `@`, `$`).
pub fn unquote(s: &str) -> &str {
    let prefix = s
        .find(['"', '\'', '`'])
        .filter(|&i| {
            i <= 3
                && s[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphabetic() || c == '@' || c == '$')
        })
        .unwrap_or(0);
    let s = &s[prefix..];
    for q in ["\"\"\"", "'''", "\"", "'", "`"] {
        if s.len() >= 2 * q.len() && s.starts_with(q) && s.ends_with(q) {
            return &s[q.len()..s.len() - q.len()];
        }
    }
    s
}

/// Test code by path: a test directory, or a test file name of one of the ecosystems.
pub fn is_test_path(path: &Path) -> bool {
    let in_test_dir = dir_names(path).any(|c| {
        matches!(
            c,
            "test"
                | "tests"
                | "__tests__"
                | "__mocks__"
                | "__fixtures__"
                | "spec"
                | "e2e"
                | "integration-tests"
                | "integration_tests"
                | "testing"
        ) || c.ends_with(".Tests")
            || c.ends_with(".UnitTests")
            || c.ends_with(".IntegrationTests")
            || c.ends_with(".Test")
    });
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.split('.').next().unwrap_or(name);
    in_test_dir
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.contains(".e2e.")
        || (name.ends_with(".py")
            && (stem.starts_with("test_") || stem.ends_with("_test") || stem == "conftest"))
        || (name.ends_with(".cs") && (stem.ends_with("Tests") || stem.ends_with("Test")))
}

/// Tooling by path: scripts, CLI commands, migrations and seeds run once, outside the server.
pub fn is_tooling_path(path: &Path) -> bool {
    dir_names(path).any(|c| {
        matches!(
            c,
            "scripts"
                | "script"
                | "tools"
                | "tooling"
                | "build-scripts"
                | "commands"
                | "cli"
                | "migrations"
                | "migration"
                | "seeds"
                | "seeders"
        )
    })
}

fn dir_names(path: &Path) -> impl Iterator<Item = &str> {
    path.parent()
        .into_iter()
        .flat_map(|p| p.iter())
        .filter_map(|c| c.to_str())
}
