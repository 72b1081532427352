//! Guard clauses: `if <check of request input>: <answer 400/422>`, and the access paths of
//! request input that names hold (`data = await request.json()`, `limit = request.args.get(...)`).

use crate::lang::kind_of;
use tree_sitter::Node;

use crate::lang::field;

use super::scope::Binding;
use super::{last_segment, named_children, Lowerer};
use crate::lang::text;
use crate::model::{FnId, Guard, Span};

/// Nodes looked at per condition and per branch.
const BUDGET: usize = 400;

pub(super) fn if_statement(l: &mut Lowerer, node: Node) {
    let Some(in_fn) = l.scope_at(node.start_byte()) else {
        return;
    };
    let (Some(condition), Some(consequence)) =
        (field(node, "condition"), field(node, "consequence"))
    else {
        return;
    };
    let Some(status) = answered_status(consequence, l.src) else {
        return;
    };
    let mut reads = Vec::new();
    let mut checks = true;
    let mut stack = vec![condition];
    let mut budget = BUDGET;
    while let Some(n) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        match kind_of(n) {
            "identifier" => {
                if let Some(p) = read_path(l, n, Vec::new(), Some(in_fn)) {
                    reads.push(p);
                }
                continue;
            }
            "attribute" => {
                // `request.args.get`: the chain read from its root, top-down.
                let mut members = Vec::new();
                let mut root = n;
                while kind_of(root) == "attribute" {
                    let (Some(obj), Some(attr)) = (field(root, "object"), field(root, "attribute"))
                    else {
                        break;
                    };
                    members.push(text(attr, l.src).to_string());
                    root = obj;
                }
                members.reverse();
                if kind_of(root) == "identifier" {
                    if let Some(p) = read_path(l, root, members, Some(in_fn)) {
                        reads.push(p);
                    }
                } else {
                    stack.push(root);
                }
                continue;
            }
            "lambda" => continue,
            "call" if !is_shape_check(l, n, Some(in_fn)) => checks = false,
            _ => {}
        }
        stack.extend(named_children(n));
    }
    if reads.is_empty() {
        return;
    }
    l.model.guards.push(Guard {
        span: Span::new(node.start_byte(), condition.end_byte()),
        in_fn,
        reads,
        // Python spells presence, type, range, format and membership checks as plain
        // conditions; a condition that queries something else (the database, a service) is a
        // business rule, not validation.
        checks,
        status,
    });
}

/// Builtins and methods that test the shape of a value.
const SHAPE_FUNCTIONS: &[&str] = &[
    "isinstance",
    "len",
    "int",
    "float",
    "str",
    "bool",
    "all",
    "any",
    "set",
    "frozenset",
    "list",
    "tuple",
    "type",
    "hasattr",
    "getattr",
    "min",
    "max",
    "sorted",
    "issubclass",
    "callable",
    "isdigit",
    "isnumeric",
    "isdecimal",
    "isalpha",
    "isalnum",
    "isidentifier",
    "isspace",
    "startswith",
    "endswith",
    "strip",
    "lstrip",
    "rstrip",
    "lower",
    "upper",
    "casefold",
    "match",
    "fullmatch",
    "search",
    "issubset",
    "issuperset",
    "isdisjoint",
    "keys",
    "values",
    "items",
    "split",
    "decode",
    "encode",
    "getlist",
    "date",
    "fromisoformat",
    "strptime",
];

/// A call in a condition that checks shape or format (`isinstance(x, int)`, `x.isdigit()`,
/// `EMAIL_RE.match(x)`, `is_valid_email(x)`, `data.get("k")`), not a lookup elsewhere.
fn is_shape_check(l: &Lowerer, call: Node, scope: Option<FnId>) -> bool {
    let Some(f) = field(call, "function") else {
        return true;
    };
    let name = last_segment(text(f, l.src));
    if SHAPE_FUNCTIONS.contains(&name) {
        return true;
    }
    let lower = name.to_ascii_lowercase();
    if ["valid", "match", "check", "parse", "is_"]
        .iter()
        .any(|k| lower.contains(k))
    {
        return true;
    }
    // A method of request input itself (`data.get(...)`, `request.args.get(...)`).
    kind_of(f) == "attribute"
        && field(f, "object").is_some_and(|o| input_path(l, o, scope).is_some())
}

/// The request-input path an identifier in a condition reads, with the attributes after it.
fn read_path(
    l: &Lowerer,
    ident: Node,
    members: Vec<String>,
    scope: Option<FnId>,
) -> Option<String> {
    let (base, skip) = base_path(
        l,
        text(ident, l.src),
        members.first().map(String::as_str),
        scope,
    )?;
    let mut path = base;
    for m in members.iter().skip(skip) {
        path.push('.');
        path.push_str(m);
    }
    Some(path)
}

/// The input path a name stands for, and how many of the following attributes it consumed
/// (`self.request` consumes `request`).
fn base_path(
    l: &Lowerer,
    name: &str,
    next: Option<&str>,
    scope: Option<FnId>,
) -> Option<(String, usize)> {
    match l.scopes.lookup(scope, name, &l.model.functions) {
        Some(Binding::Input(p)) => Some((p.clone(), 0)),
        Some(Binding::Request) => Some(("request".to_string(), 0)),
        Some(Binding::Module(m))
            if matches!(
                m.as_str(),
                "flask.request" | "quart.request" | "bottle.request" | "sanic.request"
            ) =>
        {
            Some(("request".to_string(), 0))
        }
        Some(Binding::SelfOf(_)) if next == Some("request") => Some(("request".to_string(), 1)),
        _ => None,
    }
}

/// The request-input access path a value reads, if any: `request.POST`, `await request.json()`,
/// `body.get("x")`, `json.loads(request.body)`, `int(request.args.get("n"))`.
pub(super) fn input_path(l: &Lowerer, value: Node, scope: Option<FnId>) -> Option<String> {
    input_path_depth(l, value, scope, 0)
}

fn input_path_depth(l: &Lowerer, value: Node, scope: Option<FnId>, depth: u32) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let src = l.src;
    let mut node = value;
    let mut suffix: Vec<String> = Vec::new();
    for _ in 0..32 {
        match kind_of(node) {
            "await" | "parenthesized_expression" => node = node.named_child(0)?,
            "boolean_operator" => node = field(node, "left")?,
            "attribute" => {
                let obj = field(node, "object")?;
                let attr = text(field(node, "attribute")?, src);
                if kind_of(obj) == "identifier" {
                    if let Some(Binding::SelfOf(_)) =
                        l.scopes.lookup(scope, text(obj, src), &l.model.functions)
                    {
                        if attr == "request" {
                            return Some(finish("request".into(), suffix));
                        }
                        return None;
                    }
                }
                suffix.push(format!(".{attr}"));
                node = obj;
            }
            "subscript" => {
                suffix.push("[]".into());
                node = field(node, "value")?;
            }
            "call" => {
                let f = field(node, "function")?;
                let first = field(node, "arguments")
                    .and_then(|a| named_children(a).find(|c| kind_of(c) != "keyword_argument"));
                if kind_of(f) == "attribute" {
                    let obj = field(f, "object")?;
                    let method = last_segment(text(f, src)).to_string();
                    if let Some(base) = input_path_depth(l, obj, scope, depth + 1) {
                        suffix.push(format!(".{method}()"));
                        return Some(finish(base, suffix));
                    }
                }
                // A conversion or parse of input is input: `int(x)`, `json.loads(request.body)`.
                let first = first?;
                let base = input_path_depth(l, first, scope, depth + 1)?;
                return Some(finish(base, suffix));
            }
            "identifier" => {
                let (base, _) = base_path(l, text(node, src), None, scope)?;
                return Some(finish(base, suffix));
            }
            _ => return None,
        }
    }
    None
}

fn finish(base: String, mut suffix: Vec<String>) -> String {
    suffix.reverse();
    let mut s = base;
    for part in suffix {
        s.push_str(&part);
    }
    s
}

/// The HTTP status an `if` branch answers with: `raise HTTPException(status_code=400)`,
/// `abort(400)`, `return ..., 400`, `HttpResponseBadRequest(...)`, `JsonResponse(..., status=400)`,
/// `raise web.HTTPBadRequest()`. Nested blocks and functions are not looked into.
fn answered_status(block: Node, src: &str) -> Option<u16> {
    let mut stack: Vec<Node> = named_children(block).collect();
    stack.reverse();
    let mut budget = BUDGET;
    while let Some(n) = stack.pop() {
        budget = budget.checked_sub(1)?;
        let status = match kind_of(n) {
            "function_definition"
            | "class_definition"
            | "lambda"
            | "decorated_definition"
            | "if_statement"
            | "for_statement"
            | "while_statement"
            | "try_statement"
            | "with_statement"
            | "match_statement" => continue,
            "return_statement" => n.named_child(0).and_then(|v| tuple_status(v, src)),
            "call" => call_status(n, src),
            "raise_statement" => n
                .named_child(0)
                .filter(|e| matches!(kind_of(e), "identifier" | "attribute"))
                .and_then(|e| status_from_name(last_segment(text(e, src)))),
            "assignment" => {
                let left = field(n, "left").map_or("", |k| text(k, src));
                if left.ends_with(".status_code") || left.ends_with(".status") {
                    field(n, "right").and_then(|v| status_literal(v, src))
                } else {
                    None
                }
            }
            _ => None,
        };
        if status.is_some() {
            return status;
        }
        let children: Vec<Node> = named_children(n).collect();
        stack.extend(children.into_iter().rev());
    }
    None
}

/// `return body, 400` / `return body, 400, headers`.
fn tuple_status(value: Node, src: &str) -> Option<u16> {
    if !matches!(kind_of(value), "expression_list" | "tuple") {
        return None;
    }
    value.named_child(1).and_then(|s| status_literal(s, src))
}

fn call_status(call: Node, src: &str) -> Option<u16> {
    let f = field(call, "function")?;
    let name = last_segment(text(f, src));
    let args = field(call, "arguments")?;
    for a in named_children(args) {
        if kind_of(a) == "keyword_argument" {
            let key = field(a, "name").map_or("", |k| text(k, src));
            if matches!(key, "status" | "status_code" | "code") {
                if let Some(s) = field(a, "value").and_then(|v| status_literal(v, src)) {
                    return Some(s);
                }
            }
        }
    }
    // `abort(400)`, `HTTPException(400, ...)`, `make_response(body, 400)`,
    // `error_response(400, "...")`.
    let lower = name.to_ascii_lowercase();
    if matches!(name, "abort" | "HTTPException" | "HttpError" | "HTTPError")
        || ["response", "error", "abort", "fail", "reject", "respond"]
            .iter()
            .any(|k| lower.contains(k))
    {
        if let Some(s) = named_children(args)
            .filter(|a| kind_of(a) != "keyword_argument")
            .find_map(|a| status_literal(a, src))
        {
            return Some(s);
        }
    }
    status_from_name(name)
}

fn status_literal(node: Node, src: &str) -> Option<u16> {
    let t = text(node, src);
    match kind_of(node) {
        "integer" => t.parse().ok().filter(|s| (100..600).contains(s)),
        "attribute" | "identifier" => {
            // `status.HTTP_400_BAD_REQUEST`, `HTTPStatus.BAD_REQUEST`
            let last = last_segment(t);
            if let Some(rest) = last.strip_prefix("HTTP_") {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(s) = digits.parse::<u16>() {
                    return Some(s);
                }
            }
            status_from_name(last)
        }
        _ => None,
    }
}

/// Status from an error or constant name: `HttpResponseBadRequest`, `web.HTTPBadRequest`,
/// `BadRequest`, `UNPROCESSABLE_ENTITY`, DRF's `ValidationError`/`ParseError`.
fn status_from_name(name: &str) -> Option<u16> {
    let n = name.to_ascii_lowercase().replace('_', "");
    if matches!(n.as_str(), "validationerror" | "parseerror") {
        return Some(400);
    }
    [
        ("badrequest", 400),
        ("unprocessable", 422),
        ("notfound", 404),
        ("http404", 404),
        ("unauthorized", 401),
        ("forbidden", 403),
        ("permissiondenied", 403),
        ("conflict", 409),
        ("toomanyrequests", 429),
    ]
    .iter()
    .find(|(k, _)| n.contains(k))
    .map(|&(_, s)| s)
}
