//! Guard clauses: `if (<check of request input>) { <answer with a status> }`, and the access
//! paths of request input that variables hold (`const { email } = req.body`).

use crate::lang::kind_of;
use tree_sitter::Node;

use crate::lang::field;

use super::scope::Binding;
use super::{last_segment, named_children, Lowerer};
use crate::lang::text;
use crate::model::{Guard, Span};

/// Status answers are looked for within this many nodes of an `if` branch.
const BRANCH_BUDGET: usize = 400;

pub(super) fn if_statement(l: &mut Lowerer, node: Node) {
    let Some(in_fn) = l.current_fn() else { return };
    let (Some(condition), Some(consequence)) =
        (field(node, "condition"), field(node, "consequence"))
    else {
        return;
    };
    let Some(status) = answered_status(consequence, l.src) else {
        return;
    };
    let span = Span::new(node.start_byte(), condition.end_byte());
    record(l, in_fn, condition, status, span);
}

/// Koa's `ctx.assert(<check>, 400, message)`: a guard in one call.
pub(super) fn assert_call(l: &mut Lowerer, node: Node, callee: Node, args: Option<Node>) {
    let Some(in_fn) = l.current_fn() else { return };
    if kind_of(callee) != "member_expression" || !text(callee, l.src).ends_with(".assert") {
        return;
    }
    let Some(args) = args else { return };
    let (Some(condition), Some(status)) = (
        args.named_child(0),
        args.named_child(1).and_then(|s| status_literal(s, l.src)),
    ) else {
        return;
    };
    record(
        l,
        in_fn,
        condition,
        status,
        Span::new(node.start_byte(), node.end_byte()),
    );
}

fn record(l: &mut Lowerer, in_fn: crate::model::FnId, condition: Node, status: u16, span: Span) {
    let mut reads = Vec::new();
    let mut checks = false;
    // A condition that awaits something (a lookup) is a business rule, not a shape check.
    let mut looks_up = false;
    let mut stack = vec![condition];
    let mut budget = BRANCH_BUDGET;
    while let Some(n) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        match kind_of(n) {
            "unary_expression" | "binary_expression" | "regex" => checks = true,
            "identifier" => {
                if let Some(p) = read_path(l, n) {
                    reads.push(p);
                }
                continue;
            }
            "arrow_function" | "function_expression" => continue,
            "await_expression" => looks_up = true,
            _ => {}
        }
        if kind_of(n) == "call_expression" || kind_of(n) == "member_expression" {
            let t = text(n, l.src);
            if [
                ".test",
                ".length",
                "isNaN",
                ".includes",
                ".match",
                "isInteger",
                "isArray",
            ]
            .iter()
            .any(|k| t.contains(k))
            {
                checks = true;
            }
        }
        stack.extend(named_children(n));
    }
    if reads.is_empty() {
        return;
    }
    l.model.guards.push(Guard {
        span,
        in_fn,
        reads,
        checks: checks && !looks_up,
        status,
    });
}

/// The access path an identifier in a condition reads: through a request-input binding, or the
/// member chain it roots (`req.body.email`).
fn read_path(l: &Lowerer, ident: Node) -> Option<String> {
    let src = l.src;
    // Only roots: not the `email` of `req.body.email`.
    if let Some(p) = ident.parent() {
        if kind_of(p) == "member_expression" && field(p, "object") != Some(ident) {
            return None;
        }
    }
    let mut top = ident;
    while let Some(p) = top.parent() {
        if kind_of(p) == "member_expression" && field(p, "object") == Some(top) {
            top = p;
        } else {
            break;
        }
    }
    let name = text(ident, src);
    let rest = &text(top, src)[name.len().min(text(top, src).len())..];
    match l.scopes.lookup(l.current_fn(), name, &l.model.functions) {
        Some(Binding::Input(path)) => Some(format!("{path}{rest}")),
        Some(Binding::Value) if is_param(l, name) => Some(format!("{name}{rest}")),
        _ => None,
    }
}

fn is_param(l: &Lowerer, name: &str) -> bool {
    let mut f = l.current_fn();
    while let Some(id) = f {
        if l.scopes.params(id).iter().any(|p| p == name) {
            return true;
        }
        f = l.model.functions[id].parent;
    }
    false
}

/// The request-input access path an initializer reads, if any: `req.body`, `await request.json()`,
/// `ctx.request.body.user`, `new URL(req.url).searchParams`.
pub(super) fn input_path(l: &Lowerer, value: Node) -> Option<String> {
    let src = l.src;
    let mut node = value;
    let mut suffix: Vec<String> = Vec::new();
    for _ in 0..32 {
        match kind_of(node) {
            "await_expression"
            | "parenthesized_expression"
            | "as_expression"
            | "non_null_expression" => node = node.named_child(0)?,
            // `req.body ?? {}`, `req.query || {}`
            "binary_expression" => node = field(node, "left")?,
            "member_expression" => {
                suffix.push(text(field(node, "property")?, src).to_string());
                node = field(node, "object")?;
            }
            "call_expression" => {
                let f = field(node, "function")?;
                if kind_of(f) != "member_expression" {
                    return None;
                }
                suffix.push(format!("{}()", last_segment(text(f, src))));
                node = field(f, "object")?;
            }
            "new_expression" => {
                let c = field(node, "constructor")?;
                if text(c, src) != "URL" {
                    return None;
                }
                suffix.push("URL".to_string());
                suffix.reverse();
                return Some(suffix.join("."));
            }
            "identifier" => {
                let name = text(node, src);
                let base = match l.scopes.lookup(l.current_fn(), name, &l.model.functions) {
                    Some(Binding::Input(p)) => p.clone(),
                    Some(Binding::Value) if is_param(l, name) => name.to_string(),
                    _ => return None,
                };
                suffix.push(base);
                suffix.reverse();
                return Some(suffix.join("."));
            }
            _ => return None,
        }
    }
    None
}

/// The HTTP status an `if` branch answers with: `res.status(400)`, `reply.code(422)`,
/// `ctx.throw(400)`, `{ status: 400 }`, `ctx.status = 400`, `throw new BadRequestException()`.
fn answered_status(branch: Node, src: &str) -> Option<u16> {
    let mut stack = vec![branch];
    let mut budget = BRANCH_BUDGET;
    let mut found = None;
    while let Some(n) = stack.pop() {
        budget = budget.checked_sub(1)?;
        let status = match kind_of(n) {
            "arrow_function" | "function_expression" | "function_declaration" => continue,
            "call_expression" | "new_expression" => {
                let callee = field(n, "function").or_else(|| field(n, "constructor"));
                let name = callee.map_or("", |c| last_segment(text(c, src)));
                let first = field(n, "arguments")
                    .and_then(|a| a.named_child(0))
                    .and_then(|a| status_literal(a, src));
                match name {
                    "status" | "code" | "sendStatus" | "throw" | "writeHead" | "createError"
                    | "createHttpError" | "httpErrors" | "HttpError" => first,
                    // `new AppError('bad input', 400)`, `new HttpException(msg, HttpStatus.BAD_REQUEST)`
                    // `throw ValidationError(msg)`: the conventional 400 of an error factory.
                    e if e.ends_with("ValidationError") => Some(400),
                    e if e.ends_with("Error") || e.ends_with("Exception") => status_from_name(e)
                        .or_else(|| {
                            field(n, "arguments").and_then(|a| {
                                named_children(a).find_map(|x| status_literal(x, src))
                            })
                        }),
                    // A project's own error helper: `sendError(res, 400, msg)`,
                    // `helpers.formatApiResponse(400, res)`.
                    e if is_error_helper(e) => field(n, "arguments").and_then(|a| {
                        named_children(a)
                            .filter(|x| kind_of(x) == "number")
                            .find_map(|x| status_literal(x, src))
                    }),
                    _ => status_from_name(name),
                }
            }
            "pair" => {
                let key = field(n, "key").map_or("", |k| text(k, src));
                match key {
                    "status" | "statusCode" => {
                        field(n, "value").and_then(|v| status_literal(v, src))
                    }
                    _ => None,
                }
            }
            "assignment_expression" => {
                let left = field(n, "left").map_or("", |k| text(k, src));
                if left.ends_with(".status") || left.ends_with(".statusCode") {
                    field(n, "right").and_then(|v| status_literal(v, src))
                } else {
                    None
                }
            }
            "member_expression" => status_from_name(text(n, src)),
            _ => None,
        };
        if status.is_some() {
            found = status;
            break;
        }
        // Depth-first, in source order.
        let children: Vec<Node> = named_children(n).collect();
        stack.extend(children.into_iter().rev());
    }
    found
}

fn status_literal(node: Node, src: &str) -> Option<u16> {
    if kind_of(node) == "number" {
        return text(node, src)
            .parse()
            .ok()
            .filter(|s| (100..600).contains(s));
    }
    status_from_name(text(node, src))
}

/// Status from an error or constant name: `BadRequestException`, `Boom.badRequest`,
/// `HttpStatus.BAD_REQUEST`, `StatusCodes.UNPROCESSABLE_ENTITY`.
/// A helper whose name says it answers: `sendError`, `respond`, `formatApiResponse`, `fail`.
fn is_error_helper(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["error", "respond", "response", "reply", "fail", "reject"]
        .iter()
        .any(|k| n.contains(k))
}

fn status_from_name(name: &str) -> Option<u16> {
    let n = name.to_ascii_lowercase().replace('_', "");
    [
        ("badrequest", 400),
        ("unprocessable", 422),
        ("notfound", 404),
        ("unauthorized", 401),
        ("forbidden", 403),
        ("conflict", 409),
    ]
    .iter()
    .find(|(k, _)| n.contains(k))
    .map(|&(_, s)| s)
}

/// `if (!client) { client = ... }`, `if (x === undefined)`, `if (!globalThis.db)`: a branch that
/// fills an outer variable once. Returns the branch's byte range.
pub(super) fn lazy_init_branch(l: &Lowerer, node: Node) -> Option<(usize, usize)> {
    let src = l.src;
    let condition = field(node, "condition")?;
    let consequence = field(node, "consequence")?;
    let cond = text(condition, src).trim_matches(|c| c == '(' || c == ')' || c == ' ');
    let target = if let Some(t) = cond.strip_prefix('!') {
        t.trim()
    } else {
        let (lhs, rhs) = cond.split_once("===").or_else(|| cond.split_once("=="))?;
        let rhs = rhs.trim();
        if !matches!(rhs, "undefined" | "null") {
            return None;
        }
        lhs.trim()
    };
    let simple = !target.is_empty()
        && target
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.');
    if !simple {
        return None;
    }
    let root = target.split('.').next().unwrap_or(target);
    // A local of the function is not a singleton.
    let outer = target.contains('.') || !l.scopes.declared_in(l.current_fn(), root);
    let assigns = text(consequence, src).contains(&format!("{target} ="))
        || text(consequence, src).contains(&format!("{target}="));
    (outer && assigns).then(|| (consequence.start_byte(), consequence.end_byte()))
}
