//! Small helpers over C# syntax nodes.

use crate::lang::kind_of;
use tree_sitter::Node;

use super::types::{self, named_children};
use crate::lang::{field, text};
use crate::model::Span;

/// Parentheses, casts, `!` and `?` wrappers around an expression.
pub(super) fn strip(mut node: Node) -> Node {
    loop {
        let next = match kind_of(node) {
            "parenthesized_expression" => node.named_child(0),
            "postfix_unary_expression" if node.named_child_count() == 1 => node.named_child(0),
            "cast_expression" => field(node, "value"),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return node,
        }
    }
}

pub(super) fn is_this(receiver: Option<Node>) -> bool {
    receiver.is_some_and(|r| matches!(kind_of(r), "this_expression" | "base_expression"))
}

/// A callee's receiver, method name and generic argument:
/// `a.b.Foo<T>` -> (`a.b`, `Foo`, `T`); `Foo` -> (None, `Foo`, None); `a?.Foo` -> (`a`, `Foo`).
pub(super) fn split_callee<'t>(
    function: Node<'t>,
    src: &str,
) -> (Option<Node<'t>>, String, Option<String>) {
    let (receiver, name) = match kind_of(function) {
        "member_access_expression" => (field(function, "expression"), field(function, "name")),
        "conditional_access_expression" => {
            let binding =
                named_children(function).find(|c| kind_of(c) == "member_binding_expression");
            (
                field(function, "condition"),
                binding.and_then(|b| field(b, "name")),
            )
        }
        "identifier" | "generic_name" => (None, Some(function)),
        _ => (None, None),
    };
    let Some(name) = name else {
        return (receiver, String::new(), None);
    };
    match kind_of(name) {
        "generic_name" => {
            let id = named_children(name)
                .find(|c| kind_of(c) == "identifier")
                .map_or("", |i| text(i, src));
            let generic = named_children(name)
                .find(|c| kind_of(c) == "type_argument_list")
                .and_then(|l| l.named_child(0))
                .map(|t| text(t, src).to_string());
            (receiver, id.to_string(), generic)
        }
        _ => (receiver, text(name, src).to_string(), None),
    }
}

/// `a.b.Where(...).ToList` for messages, on one line.
pub(super) fn compact(function: Node, src: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut node = function;
    for _ in 0..64 {
        match kind_of(node) {
            "member_access_expression" => {
                let name = node
                    .child_by_field_name("name")
                    .map_or("", |n| text(n, src));
                parts.push(types::simple_name(name));
                match field(node, "expression") {
                    Some(e) => node = e,
                    None => break,
                }
            }
            "invocation_expression" => {
                parts.push("(...)".into());
                match field(node, "function") {
                    Some(f) => node = f,
                    None => break,
                }
            }
            "conditional_access_expression" => {
                let name = named_children(node)
                    .find(|c| kind_of(c) == "member_binding_expression")
                    .and_then(|b| field(b, "name"))
                    .map_or("", |n| text(n, src));
                parts.push(format!("?{}", types::simple_name(name)));
                match field(node, "condition") {
                    Some(e) => node = e,
                    None => break,
                }
            }
            "identifier" | "this_expression" | "base_expression" | "predefined_type" => {
                parts.push(text(node, src).to_string());
                break;
            }
            "generic_name" => {
                parts.push(types::simple_name(text(node, src)));
                break;
            }
            _ => {
                parts.push("(...)".into());
                break;
            }
        }
    }
    let mut out = String::new();
    for p in parts.iter().rev() {
        if p == "(...)" {
            out.push_str("(...)");
        } else if let Some(rest) = p.strip_prefix('?') {
            out.push_str("?.");
            out.push_str(rest);
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(p);
        }
    }
    out
}

/// Where a finding about a call points: from its receiver when the receiver starts on the same
/// line as the method name, otherwise from the method name (the `.ToList()` line of a chain).
pub(super) fn call_span(function: Node, receiver: Option<Node>, node: Node, src: &str) -> Span {
    let name = function
        .child_by_field_name("name")
        .or_else(|| {
            named_children(function)
                .find(|c| kind_of(c) == "member_binding_expression")
                .and_then(|b| field(b, "name"))
        })
        .unwrap_or(function);
    let start = match receiver {
        Some(r) if r.start_position().row == name.start_position().row => r.start_byte(),
        Some(_) => name.start_byte(),
        None => function.start_byte(),
    };
    let end = node
        .end_byte()
        .min(line_end(name, src).max(name.end_byte()));
    Span::new(start, end.max(start))
}

/// The end of the line a node starts on, so that spans of long chains stay narrow.
pub(super) fn line_end(node: Node, src: &str) -> usize {
    let start = node.start_byte();
    src.get(start..)
        .and_then(|rest| rest.find('\n'))
        .map_or(src.len(), |i| start + i)
}
