//! Calls: their callee chains, arguments, and what the code around them does with the result.

use crate::lang::field;
use crate::lang::kind_of;
use tree_sitter::Node;

use super::scope::{Binding, Expr, Root};
use super::{last_segment, named_children, Arg, CallArgs, Lowerer, SPAWNERS};
use crate::lang::{text, unquote};
use crate::model::{Call, FnId, Span, Use};

impl<'s, 't> Lowerer<'s, 't> {
    pub(super) fn call(&mut self, node: Node<'t>) {
        let src = self.src;
        let Some(callee) = field(node, "function") else {
            return;
        };
        let scope = self.scope_at(node.start_byte());
        let args = field(node, "arguments");
        let (root, members) = decompose(callee, src);
        let mut call_args = CallArgs::default();
        let mut first_arg = None;
        let mut arg_count = 0;
        if let Some(a) = args.filter(|a| kind_of(a) == "argument_list") {
            for arg in named_children(a).filter(|c| kind_of(c) != "comment") {
                arg_count += 1;
                if kind_of(arg) == "keyword_argument" {
                    if let (Some(k), Some(v)) = (field(arg, "name"), field(arg, "value")) {
                        let value = self.arg(v, scope);
                        call_args.keywords.push((text(k, src).to_string(), value));
                    }
                    continue;
                }
                if first_arg.is_none() {
                    let t = text(arg, src);
                    let t = if kind_of(arg) == "string" {
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
            // Python reports outcomes through return values and exceptions, not callbacks.
            callback_arg: false,
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

    pub(super) fn arg(&self, node: Node, scope: Option<FnId>) -> Arg {
        self.arg_depth(node, scope, 0)
    }

    pub(super) fn arg_depth(&self, node: Node, scope: Option<FnId>, depth: u32) -> Arg {
        match kind_of(node) {
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
    pub(super) fn result_use(&self, node: Node, scope: Option<FnId>) -> Use {
        let mut awaited = false;
        let use_ = self.result_use_inner(node, &self.parents, scope, &mut awaited, 0);
        if awaited && matches!(use_, Use::Other | Use::Chained) {
            Use::Awaited
        } else {
            use_
        }
    }

    /// `ancestors`: those of `node`, innermost last.
    pub(super) fn result_use_inner(
        &self,
        node: Node,
        ancestors: &[Node],
        scope: Option<FnId>,
        awaited: &mut bool,
        depth: u32,
    ) -> Use {
        let mut child = node;
        for (i, &p) in ancestors.iter().enumerate().rev() {
            match kind_of(p) {
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
                    if field(p, "right") != Some(child) {
                        return Use::Other;
                    }
                    return self.assigned_use(field(p, "left"), scope);
                }
                "with_item" | "as_pattern" | "with_clause" => return Use::Assigned,
                "argument_list" | "keyword_argument" => {
                    let list = if kind_of(p) == "keyword_argument" {
                        i.checked_sub(1)
                    } else {
                        Some(i)
                    };
                    let outer_index = list.and_then(|j| j.checked_sub(1));
                    let outer = outer_index
                        .map(|j| ancestors[j])
                        .filter(|c| kind_of(c) == "call");
                    let spawned = outer
                        .and_then(|c| field(c, "function"))
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
                    return if field(p, "object") == Some(child) {
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

    pub(super) fn assigned_use(&self, left: Option<Node>, scope: Option<FnId>) -> Use {
        let Some(left) = left else { return Use::Other };
        match kind_of(left) {
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
}

/// The local name a call's result is assigned to: `x = f()`, `x = await f()`, `with f() as x`.
pub(super) fn assigned_name(call: Node, ancestors: &[Node], src: &str) -> Option<String> {
    let mut child = call;
    for &p in ancestors.iter().rev().take(8) {
        match kind_of(p) {
            "await" | "parenthesized_expression" | "conditional_expression" => {}
            "assignment" => {
                let left = field(p, "left")?;
                return (field(p, "right") == Some(child) && kind_of(left) == "identifier")
                    .then(|| text(left, src).to_string());
            }
            "as_pattern" => {
                let alias = field(p, "alias")?.named_child(0)?;
                return (kind_of(alias) == "identifier").then(|| text(alias, src).to_string());
            }
            _ => return None,
        }
        child = p;
    }
    None
}

/// Split a callee into its root and attribute names: `a.b.c` -> (a, [b, c]). Subscripts are
/// looked through (`client["db"]["users"].find` has the type of `client`).
pub(super) fn decompose(node: Node, src: &str) -> (Root, Vec<String>) {
    let mut members = Vec::new();
    let mut node = node;
    let mut root = Root::Other;
    for _ in 0..64 {
        match kind_of(node) {
            "attribute" => {
                let (Some(attr), Some(obj)) = (field(node, "attribute"), field(node, "object"))
                else {
                    break;
                };
                members.push(text(attr, src).to_string());
                node = obj;
            }
            "identifier" => {
                root = Root::Ident(text(node, src).to_string());
                break;
            }
            "subscript" => match field(node, "value") {
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
            "binary_operator" if field(node, "operator").is_some_and(|o| text(o, src) == "/") => {
                match field(node, "left") {
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
pub(super) fn callee_text(node: Node, src: &str, depth: u32) -> String {
    let (root, members) = decompose(node, src);
    let mut s = match root {
        Root::Ident(n) => n,
        Root::Call(_) => {
            let mut inner = node;
            // Find the receiver call to abbreviate its callee.
            for _ in 0..64 {
                match kind_of(inner) {
                    "attribute" => match field(inner, "object") {
                        Some(o) => inner = o,
                        None => break,
                    },
                    "subscript" => match field(inner, "value") {
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
            let f = field(inner, "function")
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
