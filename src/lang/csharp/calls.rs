//! Calls and object creations: canonical callee names, targets in this file or another, and
//! what the code does with each result.

use crate::lang::kind_of;
use tree_sitter::Node;

use super::syntax::{call_span, compact, line_end, split_callee, strip};
use super::types::{self, named_children};
use super::{handlers, Lowerer, PendingCall};
use crate::lang::{field, text, unquote};
use crate::model::{Call, Role, Runs, Span, Target, Use};

impl<'t> Lowerer<'_, 't> {
    pub(super) fn invocation(&mut self, node: Node<'t>) {
        let src = self.src;
        let Some(function) = field(node, "function") else {
            return;
        };
        let args = field(node, "arguments");
        let (receiver, method, _) = split_callee(function, src);
        if method.is_empty() {
            return;
        }
        let scope = self.current_fn();
        let class = self.current_class();
        // A typed value first (`Request.Body` is a Stream), then a static type (`File`).
        let static_owner = receiver
            .filter(|r| self.expr_type(*r).is_none())
            .and_then(|r| self.static_type(r));
        let mut qualifier = None;
        let callee = match receiver {
            None => None,
            Some(r) if kind_of(r) == "this_expression" || kind_of(r) == "base_expression" => {
                qualifier = Some(String::new());
                None
            }
            Some(r) => match &static_owner {
                Some(s) => {
                    qualifier = Some(s.clone());
                    Some(format!("{s}.{method}"))
                }
                None => Some(match self.expr_type(r) {
                    // `db.Items.Where(i => db.Tags.Any(...))`: SQL, not a query of its own.
                    Some(t) if t == "IQueryable" && self.in_expression_tree() => method.clone(),
                    Some(t) => format!("{t}.{method}"),
                    None => method.clone(),
                }),
            },
        };
        let text_ = compact(function, src);
        // Calls on test doubles record or verify; they run nothing (`Received.InOrder(() => ...)`,
        // `repo.SaveAsync(Arg.Any<User>())`, `mock.Setup(...)`).
        let test_double =
            receiver.is_some() && (self.in_verification() || has_matcher_args(args, src));
        let callee = if test_double {
            Some(format!("TestDouble.{method}"))
        } else {
            callee
        };
        let first = args.and_then(|a| named_children(a).find(|c| kind_of(c) == "argument"));
        let first_arg = first
            .and_then(|a| a.named_child(a.named_child_count().saturating_sub(1)))
            .map(|f| {
                let t = text(f, src);
                let t = if kind_of(f).contains("string") {
                    unquote(t)
                } else {
                    t
                };
                t.chars().take(120).collect::<String>()
            });
        let arg_count = args.map_or(0, |a| {
            named_children(a)
                .filter(|c| kind_of(c) == "argument")
                .count() as u32
        });
        let id = self.model.calls.len();
        let span = call_span(function, receiver, node, src);
        let result = self.result_use(node);
        self.model.calls.push(Call {
            span,
            in_fn: scope,
            callee,
            text: text_,
            construct: false,
            result,
            target: None,
            lazy_init: false,
            first_arg,
            arg_count,
            callback_arg: false,
            receiver_call: None,
            returns_promise: false,
        });
        self.node_call.insert(node.id(), id);
        let needs_resolution = receiver.is_none() || qualifier.is_some();
        self.pending_calls.push(PendingCall {
            call: id,
            scope,
            class,
            qualifier: if receiver.is_none() { None } else { qualifier },
            name: method.clone(),
            receiver_node: receiver.map(|r| strip(r).id()),
            resolve: needs_resolution,
        });
        // Calls on typed receivers of other files: `_orders.PlaceAsync()` on `IOrderService`.
        if let Some(r) = receiver {
            if static_owner.is_none()
                && !test_double
                && kind_of(r) != "this_expression"
                && kind_of(r) != "base_expression"
            {
                if let Some(t) = self.receiver_class(r) {
                    self.model.calls[id].target = Some(Target::Module {
                        module: t,
                        name: method.clone(),
                    });
                }
            }
        }
        // `Task.Run(...)` dropped in a handler: nobody observes the background work.
        // `Task.Factory.StartNew(...)` is the same fire and forget.
        let background = (static_owner.as_deref() == Some("Task") && method == "Run")
            || (method == "StartNew" && self.model.calls[id].text.ends_with("Factory.StartNew"));
        if background && result == Use::Discarded && self.in_handler() {
            self.model.calls[id].returns_promise = true;
        }
        self.blocking_call(node, receiver, &method, static_owner.as_deref());
        handlers::registration(self, node, receiver, &method, args);
    }

    /// The declared type of a receiver as written, for calls into other files of the project.
    pub(super) fn receiver_class(&self, r: Node<'t>) -> Option<String> {
        let r = strip(r);
        let name = match kind_of(r) {
            "identifier" => text(r, self.src),
            "member_access_expression"
                if field(r, "expression").is_some_and(|e| kind_of(e) == "this_expression") =>
            {
                text(field(r, "name")?, self.src)
            }
            _ => return None,
        };
        let t = self.lookup(name)?.ty?;
        (t.starts_with(char::is_uppercase) && !t.ends_with(']') && !is_framework_type(&t))
            .then_some(t)
    }

    /// Is a lambda an argument of an operator applied to an EF query (`db.X.Where(x => ...)`)?
    pub(super) fn query_argument(&self, lambda: Node<'t>) -> bool {
        let Some(call) = self
            .parent_of(lambda)
            .filter(|p| kind_of(p) == "argument")
            .and_then(|a| self.parent_of(a))
            .and_then(|l| self.parent_of(l))
            .filter(|c| kind_of(c) == "invocation_expression")
        else {
            return false;
        };
        let Some(function) = field(call, "function") else {
            return false;
        };
        let (receiver, _, _) = split_callee(function, self.src);
        receiver.is_some_and(|r| self.chain_is_query(r))
    }

    /// Is a receiver chain an EF query, through extension methods of unknown type
    /// (`db.Series.RestrictByAge(age).Where(...)`), unless something materializes it first
    /// (`.AsEnumerable()`, `.ToList()`)?
    fn chain_is_query(&self, receiver: Node<'t>) -> bool {
        let mut node = strip(receiver);
        for _ in 0..32 {
            if self.expr_type(node).as_deref() == Some("IQueryable") {
                return true;
            }
            if kind_of(node) != "invocation_expression" {
                return false;
            }
            let Some(function) = field(node, "function") else {
                return false;
            };
            let (inner, method, _) = split_callee(function, self.src);
            if method.starts_with("As")
                && method != "AsNoTracking"
                && method != "AsSplitQuery"
                && method != "AsSingleQuery"
                && method != "AsTracking"
                && method != "AsQueryable"
                || method.starts_with("To")
            {
                return false;
            }
            match inner {
                Some(r) => node = strip(r),
                None => return false,
            }
        }
        false
    }

    /// Inside a lambda of an EF query, where calls are translated rather than run.
    pub(super) fn in_expression_tree(&self) -> bool {
        self.scopes(self.current_fn())
            .flatten()
            .any(|id| self.fn_meta[id].expression_tree)
    }

    pub(super) fn in_per_request_constructor(&self) -> bool {
        self.current_fn().is_some_and(|f| {
            let func = &self.model.functions[f];
            self.fn_meta[f].returns.is_none()
                && !self.fn_meta[f].is_local_function
                && func.role == Role::Plain
                && func.parent.is_none()
                && func.name.is_some()
                && func.name == func.class
        })
    }

    /// Inside `Received.InOrder(() => ...)` or a Moq/NSubstitute configuration lambda.
    pub(super) fn in_verification(&self) -> bool {
        self.scopes(self.current_fn()).flatten().any(|id| {
            self.model.functions[id]
                .passed_to
                .as_deref()
                .is_some_and(|p| {
                    matches!(
                        p,
                        "InOrder" | "When" | "Verify" | "VerifyAsync" | "Setup" | "SetupSequence"
                    )
                })
        })
    }

    pub(super) fn in_handler(&self) -> bool {
        for id in self.scopes(self.current_fn()).flatten() {
            let func = &self.model.functions[id];
            if matches!(func.role, Role::Handler(_)) {
                return true;
            }
            if func.runs != Runs::Inline {
                return false;
            }
        }
        false
    }

    pub(super) fn creation(&mut self, node: Node<'t>) {
        let src = self.src;
        let ty = match kind_of(node) {
            "object_creation_expression" => node
                .child_by_field_name("type")
                .map(|t| text(t, src).to_string()),
            // `HttpClient c = new();`, `static readonly HttpClient H = new() {...}`
            _ => self.declared_type_of(node),
        };
        let Some(ty) = ty else { return };
        let name = types::simple_name(&ty);
        let name = self.decls.aliases.get(&name).cloned().unwrap_or(name);
        let args = node
            .child_by_field_name("arguments")
            .or_else(|| named_children(node).find(|c| kind_of(c) == "argument_list"));
        let arg_count = args.map_or(0, |a| {
            named_children(a)
                .filter(|c| kind_of(c) == "argument")
                .count() as u32
        });
        let id = self.model.calls.len();
        let result = self.result_use(node);
        self.model.calls.push(Call {
            span: Span::new(node.start_byte(), node.end_byte().min(line_end(node, src))),
            in_fn: self.current_fn(),
            callee: Some(name.clone()),
            text: name,
            construct: true,
            result,
            target: None,
            lazy_init: false,
            first_arg: None,
            arg_count,
            callback_arg: false,
            receiver_call: None,
            returns_promise: false,
        });
        self.node_call.insert(node.id(), id);
    }

    /// What the code around a call does with its result.
    pub(super) fn result_use(&self, node: Node<'t>) -> Use {
        let src = self.src;
        let mut child = node;
        let mut parent = self.parent_of(node);
        while let Some(p) = parent {
            match kind_of(p) {
                "parenthesized_expression"
                | "cast_expression"
                | "postfix_unary_expression"
                | "conditional_expression"
                | "checked_expression" => {}
                "binary_expression" => {
                    let op = field(p, "operator").map(|o| text(o, src));
                    if !matches!(op, Some("??")) {
                        return Use::Other;
                    }
                }
                "await_expression" => return Use::Awaited,
                // `void Notify() => SendAsync();` drops the task like a statement would.
                "arrow_expression_clause" => {
                    let returns = self
                        .parent_of(p)
                        .and_then(|m| field(m, "returns").or_else(|| field(m, "type")));
                    return match returns {
                        Some(t) if text(t, src) == "void" => Use::Discarded,
                        _ => Use::Returned,
                    };
                }
                "return_statement" | "yield_statement" | "throw_expression" => {
                    return Use::Returned
                }
                "lambda_expression" => {
                    return if field(p, "body") == Some(child) {
                        Use::Returned
                    } else {
                        Use::Other
                    }
                }
                "expression_statement" => return Use::Discarded,
                "assignment_expression" => {
                    let left = field(p, "left");
                    if left == Some(child) {
                        return Use::Other;
                    }
                    return match left {
                        Some(l) if kind_of(l) == "identifier" && text(l, src) == "_" => Use::Voided,
                        Some(l) if kind_of(l) == "identifier" && self.is_local(text(l, src)) => {
                            Use::Assigned
                        }
                        // A controller's field lives as long as its request: a constructor
                        // storing a client there creates one per request.
                        Some(_) if self.in_per_request_constructor() => Use::Assigned,
                        Some(_) => Use::Stored,
                        None => Use::Other,
                    };
                }
                "variable_declarator" => {
                    let field = self
                        .parent_of(p)
                        .and_then(|d| self.parent_of(d))
                        .is_some_and(|f| kind_of(f) == "field_declaration");
                    return if field || self.current_fn().is_none() && self.class_stack.is_empty() {
                        if field {
                            Use::Stored
                        } else {
                            Use::Assigned
                        }
                    } else {
                        Use::Assigned
                    };
                }
                "property_declaration" => return Use::Stored,
                "argument"
                | "initializer_expression"
                | "collection_element"
                | "anonymous_object_creation_expression" => return Use::Argument,
                "member_access_expression" => {
                    return if field(p, "expression") == Some(child) {
                        Use::Chained
                    } else {
                        Use::Other
                    }
                }
                "conditional_access_expression" => {
                    return if field(p, "condition") == Some(child) {
                        Use::Chained
                    } else {
                        Use::Other
                    }
                }
                "using_statement" => return Use::Assigned,
                _ => return Use::Other,
            }
            child = p;
            parent = self.parent_of(p);
        }
        Use::Other
    }
}

/// Argument matchers (`Arg.Any<T>()`, `It.IsAny<T>()`) only make sense on a test double.
pub(super) fn has_matcher_args(args: Option<Node>, src: &str) -> bool {
    let matcher = |a: Node| {
        // Short arguments only: scanning every argument's text would be quadratic on deeply
        // nested calls, and a matcher is a short expression (`x ?? Arg.Any<T>()`).
        let t = text(a, src);
        t.len() < 160
            && (t.contains("Arg.Any")
                || t.contains("Arg.Is")
                || t.contains("It.IsAny")
                || t.contains("It.Is<"))
    };
    args.is_some_and(|a| named_children(a).any(matcher))
}

/// Types of the base library and ASP.NET Core that calls are made on all the time and that no
/// scanned file declares: a call on them is no edge of the call graph (keeping every one would
/// hold most calls of a repository in memory for nothing).
#[rustfmt::skip]
const FRAMEWORK_TYPES: &[&str] = &[
    "DbContext", "IQueryable", "ILogger", "ILoggerFactory", "IConfiguration", "IConfigurationSection",
    "IServiceProvider", "IServiceScopeFactory", "IServiceScope", "IHttpClientFactory", "HttpClient",
    "IMemoryCache", "IDistributedCache", "IOptions", "IOptionsMonitor", "IOptionsSnapshot",
    "IWebHostEnvironment", "IHostEnvironment", "IHostApplicationLifetime", "IHttpContextAccessor",
    "HttpContext", "HttpRequest", "HttpResponse", "ClaimsPrincipal", "IMediator", "ISender",
    "IPublisher", "IMapper", "IHubContext", "IHubClients", "IClientProxy", "UserManager",
    "SignInManager", "RoleManager", "IAuthorizationService", "IDataProtector", "IStringLocalizer",
    "IEnumerable", "ICollection", "IList", "IDictionary", "IReadOnlyList", "IReadOnlyCollection",
    "IReadOnlyDictionary", "ISet", "List", "Dictionary", "HashSet", "Queue", "Stack",
    "ConcurrentDictionary", "ConcurrentQueue", "ConcurrentBag", "StringBuilder", "String", "string",
    "Task", "ValueTask", "CancellationToken", "CancellationTokenSource", "SemaphoreSlim", "Stream",
    "FileStream", "MemoryStream", "StreamReader", "StreamWriter", "TextReader", "TextWriter",
    "IFormFile", "DbCommand", "DbConnection", "IDbConnection", "SqlConnection", "SqlCommand",
    "NpgsqlConnection", "NpgsqlCommand", "IDatabase", "IConnectionMultiplexer", "IMongoCollection",
    "IMongoDatabase", "IMongoClient", "JsonSerializerOptions", "JsonElement", "JsonDocument",
    "Regex", "Random", "Stopwatch", "Timer", "PeriodicTimer", "Uri", "Guid", "DateTime",
    "DateTimeOffset", "TimeSpan", "Exception", "Type", "Assembly", "Process", "Channel",
    "ChannelWriter", "ChannelReader", "IValidator", "ModelStateDictionary", "IUrlHelper",
    "LinkGenerator", "IEndpointRouteBuilder", "IApplicationBuilder", "IServiceCollection",
    "WebApplication", "WebApplicationBuilder", "RouteGroupBuilder", "ModelBuilder", "TestDouble",
];

pub(super) fn is_framework_type(t: &str) -> bool {
    FRAMEWORK_TYPES.contains(&t)
}
