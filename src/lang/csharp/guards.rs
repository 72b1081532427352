//! Guard clauses of manual validation: `if (<check of request input>) { return BadRequest(...); }`,
//! `ModelState.AddModelError(...)`, `Results.ValidationProblem(...)`; and which parameters and
//! locals hold request input (`@Param.dto`, `@BindProperty.Input`, `Request.Query`).

use crate::lang::kind_of;
use tree_sitter::Node;

use super::syntax::{split_callee, strip};
use super::types::{named_children, simple_name};
use super::Lowerer;
use crate::lang::{field, text};
use crate::model::{Guard, Span};

/// Nodes looked at in a condition or a branch.
const BUDGET: usize = 400;

/// Calls whose arguments a check reads (`string.IsNullOrEmpty(dto.Name)`); the arguments of other
/// calls (`await repo.ExistsAsync(dto.Id)`) are business lookups, not format checks.
#[rustfmt::skip]
const CHECK_CALLS: &[&str] = &[
    "IsNullOrEmpty", "IsNullOrWhiteSpace", "IsMatch", "Match", "TryParse", "IsDefined", "Contains",
    "StartsWith", "EndsWith", "Any", "All", "Count", "IsValidEmail", "Equals", "IsLetterOrDigit",
    "IsDigit", "IsWellFormedUriString", "TryCreate", "Exists",
];

#[rustfmt::skip]
const NORMALIZERS: &[&str] = &[
    "Trim", "TrimStart", "TrimEnd", "ToLower", "ToUpper", "ToLowerInvariant", "ToUpperInvariant",
    "ToString", "Normalize", "Split", "Replace", "Substring", "Remove", "PadLeft", "PadRight",
    "AsSpan", "Distinct", "ToList", "ToArray",
];

/// Parameter types that are services or framework plumbing, never request input.
#[rustfmt::skip]
const NOT_INPUT_TYPES: &[&str] = &[
    "CancellationToken", "HttpContext", "HttpRequest", "HttpResponse", "ClaimsPrincipal",
    "ServerCallContext", "IServiceProvider", "LinkGenerator", "RequestDelegate", "ILogger",
    "IConfiguration", "IMediator", "ISender",
];

#[rustfmt::skip]
const NOT_INPUT_SUFFIXES: &[&str] = &[
    "Service", "Services", "Repository", "Client", "Context", "Db", "Options", "Factory", "Manager",
    "Provider", "Handler", "Settings", "Configuration", "Environment", "Logger", "Sender",
    "Publisher", "Bus", "Queue", "Store", "Cache", "Mediator", "Engine", "Validator", "Accessor",
    "Writer", "Reader", "Generator", "Dispatcher", "Tracker", "Gateway", "Producer", "Consumer",
];

/// The access path a parameter gives its request input, unless it is a service.
pub(super) fn param_input(name: &str, raw_ty: Option<&str>, attrs: &[String]) -> Option<String> {
    let raw = raw_ty?;
    if attrs
        .iter()
        .any(|a| a == "FromServices" || a == "FromKeyedServices")
    {
        return None;
    }
    let ty = simple_name(raw);
    let interface = ty.len() > 1
        && ty.starts_with('I')
        && ty[1..].starts_with(char::is_uppercase)
        && !ty.starts_with("IForm");
    if interface
        || NOT_INPUT_TYPES.contains(&ty.as_str())
        || NOT_INPUT_SUFFIXES.iter().any(|s| ty.ends_with(s))
    {
        return None;
    }
    Some(format!("@Param.{name}"))
}

/// A local initialised from request input (`var email = dto.Email?.Trim();`) reads that input.
pub(super) fn derived_input(l: &Lowerer, value: Node) -> Option<String> {
    let src = l.src;
    let mut node = strip(value);
    for _ in 0..32 {
        match kind_of(node) {
            "member_access_expression" => node = field(node, "expression")?,
            "conditional_access_expression" => node = field(node, "condition")?,
            "element_access_expression" => node = field(node, "expression")?,
            // Normalizing the input keeps it input; a lookup (`ids.Select(repo.Get)`) does not.
            "invocation_expression" => {
                let f = field(node, "function")?;
                let (r, m, _) = split_callee(f, src);
                if !NORMALIZERS.contains(&m.as_str()) {
                    return None;
                }
                node = r?;
            }
            "parenthesized_expression" | "postfix_unary_expression" | "cast_expression" => {
                node = strip(node);
                if matches!(
                    kind_of(node),
                    "parenthesized_expression" | "postfix_unary_expression" | "cast_expression"
                ) {
                    return None;
                }
            }
            "identifier" => return input_of(l, node),
            _ => return None,
        }
    }
    None
}

fn input_of(l: &Lowerer, ident: Node) -> Option<String> {
    let name = text(ident, l.src);
    match l.lookup(name) {
        Some(v) => v.input,
        None if name == "Request" => Some("Request".into()),
        None => None,
    }
}

pub(super) fn if_statement(l: &mut Lowerer, node: Node) {
    let Some(in_fn) = l.current_fn() else { return };
    let (Some(condition), Some(consequence)) =
        (field(node, "condition"), field(node, "consequence"))
    else {
        return;
    };
    let src = l.src;
    let mut reads = Vec::new();
    let mut checks = false;
    let mut foreign = false;
    let mut stack = vec![condition];
    let mut budget = BUDGET;
    while let Some(n) = stack.pop() {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            break;
        }
        match kind_of(n) {
            "lambda_expression" | "anonymous_method_expression" | "await_expression" => continue,
            "binary_expression" => {
                checks |= !is_enum_comparison(n, src) && !is_identity_match(n, src)
            }
            "prefix_unary_expression" | "is_pattern_expression" => checks = true,
            // `a?.B`: the `B` is a member name, not a variable.
            "member_binding_expression" => continue,
            // `dto.Address.City`: one access path from its root down, without `Node::parent()`.
            "member_access_expression" | "identifier" => {
                let mut names = Vec::new();
                let mut root = n;
                while kind_of(root) == "member_access_expression" && names.len() < 32 {
                    if let Some(name) = field(root, "name") {
                        names.push(text(name, src));
                    }
                    match field(root, "expression") {
                        Some(e) => root = e,
                        None => break,
                    }
                }
                if kind_of(root) != "identifier" {
                    stack.push(root);
                    continue;
                }
                match input_of(l, root) {
                    Some(mut path) => {
                        for name in names.iter().rev() {
                            path.push('.');
                            path.push_str(name);
                        }
                        reads.push(path);
                    }
                    // A condition that also reads program state (`state.Protocol != File`) is
                    // a business rule about that state, not validation of the input.
                    // (Fields are allow-lists and limits: `!Reasons.Contains(dto.Reason)`.)
                    // Service fields count too (`!_features.IsEnabled(...)`, `_settings.SelfHosted`).
                    None => foreign |= is_program_state(l, text(root, src)),
                }
                continue;
            }
            "invocation_expression" => {
                let (receiver, method, _) = n
                    .child_by_field_name("function")
                    .map_or((None, String::new(), None), |f| split_callee(f, src));
                if CHECK_CALLS.contains(&method.as_str()) {
                    checks = true;
                    stack.extend(named_children(n));
                } else if let Some(r) = receiver {
                    stack.push(r);
                }
                continue;
            }
            _ => {}
        }
        stack.extend(named_children(n));
    }
    if reads.is_empty() || foreign {
        return;
    }
    // The branch is scanned last: most conditions read no request input at all.
    let Some(status) = answered_status(consequence, src) else {
        return;
    };
    l.model.guards.push(Guard {
        span: Span::new(node.start_byte(), (condition.end_byte() + 1).min(src.len())),
        in_fn,
        reads,
        checks,
        status,
    });
}

/// A local of the function, or a field holding a service, settings or an ambient context.
fn is_program_state(l: &Lowerer, name: &str) -> bool {
    if l.is_local(name) {
        return true;
    }
    l.lookup(name).and_then(|v| v.ty).is_some_and(|t| {
        let interface = t.len() > 1 && t.starts_with('I') && t[1..].starts_with(char::is_uppercase);
        interface || t == "DbContext" || NOT_INPUT_SUFFIXES.iter().any(|s| t.ends_with(s))
    })
}

/// `model.Type == AuthRequestType.AdminApproval`: which kind of request this is, a business
/// branch rather than a check of the field's shape.
fn is_enum_comparison(n: Node, src: &str) -> bool {
    let op = n
        .child_by_field_name("operator")
        .map_or("", |o| text(o, src));
    if op != "==" && op != "!=" {
        return false;
    }
    [field(n, "left"), field(n, "right")]
        .into_iter()
        .flatten()
        .any(|side| {
            kind_of(side) == "member_access_expression"
                && field(side, "expression").is_some_and(|e| {
                    let t = text(e, src);
                    kind_of(e) == "identifier"
                        && t.starts_with(char::is_uppercase)
                        && !matches!(
                            t,
                            "Guid"
                                | "String"
                                | "DateTime"
                                | "DateTimeOffset"
                                | "TimeSpan"
                                | "Int32"
                                | "Int64"
                                | "Decimal"
                                | "Double"
                                | "DateOnly"
                        )
                })
        })
}

/// `id != dto.Id`: the route and the body name the same resource, a consistency rule no schema
/// on the body can declare.
fn is_identity_match(n: Node, src: &str) -> bool {
    let op = n
        .child_by_field_name("operator")
        .map_or("", |o| text(o, src));
    if op != "==" && op != "!=" {
        return false;
    }
    let key = |side: Option<Node>| {
        side.is_some_and(|e| {
            matches!(kind_of(e), "identifier" | "member_access_expression") && {
                let t = text(e, src).to_ascii_lowercase();
                let last = t.rsplit('.').next().unwrap_or(&t);
                last.ends_with("id") || last.ends_with("key")
            }
        })
    };
    key(field(n, "left")) && key(field(n, "right"))
}

/// The HTTP status an `if` branch answers with: `BadRequest(...)`, `Results.ValidationProblem(...)`,
/// `ModelState.AddModelError(...)`, `StatusCode(400)`, `NotFound()`, `Conflict()`...
fn answered_status(branch: Node, src: &str) -> Option<u16> {
    let mut stack = vec![branch];
    let mut budget = BUDGET;
    while let Some(n) = stack.pop() {
        budget = budget.checked_sub(1)?;
        let status = match kind_of(n) {
            // A nested `if` answers for its own condition, not for this one; what follows it is
            // the fallback of a business decision (`if (token) { if (valid) return; } throw ...`).
            "if_statement" | "switch_statement" if n != branch => return None,
            "lambda_expression"
            | "anonymous_method_expression"
            | "local_function_statement"
            | "for_statement"
            | "foreach_statement"
            | "while_statement"
            | "try_statement"
                if n != branch =>
            {
                continue
            }
            "invocation_expression" => {
                let (_, method, _) = n
                    .child_by_field_name("function")
                    .map_or((None, String::new(), None), |f| split_callee(f, src));
                match method.as_str() {
                    "StatusCode" | "Problem" | "Json" | "SetStatusCode" => n
                        .child_by_field_name("arguments")
                        .and_then(|a| status_in(a, src)),
                    m => status_from_name(m),
                }
            }
            "object_creation_expression" => n
                .child_by_field_name("type")
                .and_then(|t| status_from_name(&simple_name(text(t, src)))),
            "assignment_expression" => {
                let left = field(n, "left").map_or("", |k| text(k, src));
                if left.ends_with("StatusCode") {
                    field(n, "right").and_then(|v| status_in(v, src))
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

/// A status literal in an expression: `400`, `StatusCodes.Status400BadRequest`, `HttpStatusCode.BadRequest`.
fn status_in(node: Node, src: &str) -> Option<u16> {
    let t = text(node, src);
    if let Some(i) = t.find("Status") {
        let digits: String = t[i + 6..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(s) = digits.parse::<u16>() {
            return Some(s);
        }
    }
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if kind_of(n) == "integer_literal" {
            if let Ok(s) = text(n, src).parse::<u16>() {
                if (100..600).contains(&s) {
                    return Some(s);
                }
            }
        }
        stack.extend(named_children(n));
    }
    status_from_name(t)
}

/// Status from a result helper or type name: `BadRequest`, `ValidationProblem`, `AddModelError`,
/// `UnprocessableEntity`, `NotFound`, `Unauthorized`, `Forbid`, `Conflict`.
fn status_from_name(name: &str) -> Option<u16> {
    let n = name.to_ascii_lowercase();
    [
        ("badrequest", 400),
        ("validationproblem", 400),
        ("addmodelerror", 400),
        ("unprocessable", 422),
        ("notfound", 404),
        ("unauthorized", 401),
        ("forbid", 403),
        ("conflict", 409),
    ]
    .iter()
    .find(|(k, _)| n.contains(k))
    .map(|&(_, s)| s)
}
