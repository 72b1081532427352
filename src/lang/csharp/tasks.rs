//! Tasks: what the file shows of an expression being a pending task, blocking waits on them
//! (`.Result`, `.Wait()`, `.GetAwaiter().GetResult()`, `Task.WaitAll`), and tasks already complete.

use crate::lang::kind_of;
use tree_sitter::Node;

use super::syntax::{call_span, is_this, split_callee, strip};
use super::types::{self, named_children};
use super::Lowerer;
use crate::lang::{field, text};
use crate::model::{BlockingWait, TaskEvidence, WaitKind};

impl<'t> Lowerer<'_, 't> {
    /// What the file shows of an expression being a pending task.
    pub(super) fn evidence(&self, node: Node<'t>) -> TaskEvidence {
        let src = self.src;
        // `t.ConfigureAwait(false)` is about `t`.
        let mut node = strip(node);
        for _ in 0..64 {
            let inner = (kind_of(node) == "invocation_expression")
                .then(|| field(node, "function"))
                .flatten()
                .map(|f| split_callee(f, src))
                .filter(|(_, m, _)| m == "ConfigureAwait")
                .and_then(|(r, _, _)| r);
            match inner {
                Some(r) => node = strip(r),
                None => break,
            }
        }
        match kind_of(node) {
            "identifier" => {
                let name = text(node, src);
                let at = node.start_byte();
                if self.is_completed(name)
                    || self
                        .completed_ranges
                        .iter()
                        .any(|(s, e, n)| *s <= at && at < *e && n == name)
                {
                    return TaskEvidence::Completed;
                }
                match self.lookup(name) {
                    Some(v) if v.task => TaskEvidence::Task,
                    _ => TaskEvidence::Unknown,
                }
            }
            "element_access_expression" => {
                let Some(e) = field(node, "expression").map(strip) else {
                    return TaskEvidence::Unknown;
                };
                if kind_of(e) == "identifier" && self.is_completed(text(e, src)) {
                    TaskEvidence::Completed
                } else {
                    TaskEvidence::Unknown
                }
            }
            "member_access_expression" => {
                let (Some(e), Some(n)) = (field(node, "expression"), field(node, "name")) else {
                    return TaskEvidence::Unknown;
                };
                if kind_of(e) == "this_expression" {
                    if self.is_completed(text(n, src)) {
                        return TaskEvidence::Completed;
                    }
                    if self.member(text(n, src)).is_some_and(|v| v.task) {
                        return TaskEvidence::Task;
                    }
                }
                TaskEvidence::Unknown
            }
            "object_creation_expression" => {
                let t = node
                    .child_by_field_name("type")
                    .map_or("", |t| text(t, src));
                if types::is_task_type(t) {
                    TaskEvidence::Task
                } else {
                    TaskEvidence::Unknown
                }
            }
            "invocation_expression" => {
                let Some(function) = field(node, "function") else {
                    return TaskEvidence::Unknown;
                };
                let (receiver, method, _) = split_callee(function, src);
                if method == "ConfigureAwait" {
                    return TaskEvidence::Unknown;
                }
                if method.ends_with("Async") || method == "AsTask" {
                    return TaskEvidence::Task;
                }
                let static_owner = receiver.and_then(|r| self.static_type(r));
                if static_owner.as_deref() == Some("Task")
                    && matches!(method.as_str(), "Run" | "WhenAll" | "WhenAny" | "Delay")
                    || method == "StartNew"
                {
                    return TaskEvidence::Task;
                }
                if receiver.is_none() || is_this(receiver) {
                    if let Some(c) = self.current_class() {
                        if self
                            .method_return(c, &method)
                            .is_some_and(|r| types::is_task_type(&r))
                        {
                            return TaskEvidence::Task;
                        }
                    }
                    if self.local_function_returns_task(&method) {
                        return TaskEvidence::Task;
                    }
                }
                TaskEvidence::Unknown
            }
            _ => TaskEvidence::Unknown,
        }
    }

    pub(super) fn local_function_returns_task(&self, name: &str) -> bool {
        self.decls
            .local_functions
            .get(name)
            .is_some_and(|r| types::is_task_type(r))
    }

    pub(super) fn is_completed(&self, name: &str) -> bool {
        // A lambda reads what its enclosing function awaited before it.
        self.scopes(self.current_fn())
            .any(|f| self.completed.contains(f, name))
    }

    /// `.Wait()`, `.GetAwaiter().GetResult()`, `.RunSynchronously()`, `Task.WaitAll/WaitAny`.
    pub(super) fn blocking_call(
        &mut self,
        node: Node,
        receiver: Option<Node>,
        method: &str,
        owner: Option<&str>,
    ) {
        let src = self.src;
        let (kind, on, source) = match method {
            "WaitAll" | "WaitAny" if owner == Some("Task") => {
                (WaitKind::WaitAll, TaskEvidence::Task, None)
            }
            "Wait" | "RunSynchronously" if owner.is_none() => {
                let Some(r) = receiver else { return };
                let kind = if method == "Wait" {
                    WaitKind::Wait
                } else {
                    WaitKind::RunSynchronously
                };
                (kind, self.evidence(r), Some(r))
            }
            "GetResult" => {
                // `x.GetAwaiter().GetResult()`: the evidence is about `x`.
                let Some(r) = receiver.map(strip) else { return };
                if kind_of(r) != "invocation_expression" {
                    return;
                }
                let Some(f) = field(r, "function") else {
                    return;
                };
                let (inner, m, _) = split_callee(f, src);
                if m != "GetAwaiter" {
                    return;
                }
                let Some(inner) = inner else { return };
                (WaitKind::GetResult, self.evidence(inner), Some(inner))
            }
            _ => return,
        };
        let function = field(node, "function").unwrap_or(node);
        let span = call_span(function, receiver, node, src);
        self.wait_source(source);
        self.model.waits.push(BlockingWait {
            span,
            in_fn: self.current_fn(),
            kind,
            on,
            target: None,
        });
    }

    /// Remember which call produced the task a wait is about, to copy its target at the end.
    fn wait_source(&mut self, source: Option<Node>) {
        if let Some(s) = source.map(strip) {
            if kind_of(s) == "invocation_expression" {
                self.wait_sources.push((self.model.waits.len(), s.id()));
            }
        }
    }

    /// `t.Result` and `t?.Result`.
    pub(super) fn result_access(&mut self, node: Node<'t>) {
        let src = self.src;
        let Some(name) = field(node, "name") else {
            return;
        };
        if text(name, src) != "Result" {
            return;
        }
        let receiver = if kind_of(node) == "member_access_expression" {
            field(node, "expression")
        } else {
            // `t?.Result`: conditional_access_expression(condition: t, member_binding_expression)
            self.parent_of(node)
                .filter(|p| kind_of(p) == "conditional_access_expression")
                .and_then(|p| field(p, "condition"))
        };
        let Some(receiver) = receiver else { return };
        // `context.Result = ...` writes a property; it does not wait.
        if let Some(p) = self.parent_of(node) {
            if kind_of(p) == "assignment_expression" && field(p, "left") == Some(node) {
                return;
            }
        }
        let on = self.evidence(receiver);
        let span = call_span(node, Some(receiver), node, src);
        self.wait_source(Some(receiver));
        self.model.waits.push(BlockingWait {
            span,
            in_fn: self.current_fn(),
            kind: WaitKind::Result,
            on,
            target: None,
        });
    }

    pub(super) fn await_expr(&mut self, node: Node<'t>) {
        let src = self.src;
        let f = self.current_fn();
        if let Some(id) = f {
            let start = node.start_byte();
            let covered = self
                .try_stack
                .iter()
                .any(|&(s, e, tf)| tf == Some(id) && s <= start && node.end_byte() <= e);
            if !covered {
                self.model.functions[id].awaits_outside_try = true;
            }
        }
        let Some(inner) = node.named_child(0).map(strip) else {
            return;
        };
        let mut done = Vec::new();
        match kind_of(inner) {
            "identifier" => done.push(text(inner, src).to_string()),
            "member_access_expression" => {
                if let Some(n) = field(inner, "name") {
                    if inner
                        .child_by_field_name("expression")
                        .is_some_and(|e| kind_of(e) == "this_expression")
                    {
                        done.push(text(n, src).to_string());
                    }
                }
            }
            "invocation_expression" => {
                let (receiver, method, _) = inner
                    .child_by_field_name("function")
                    .map_or((None, String::new(), None), |f| split_callee(f, src));
                if method == "WhenAll" {
                    if let Some(args) = field(inner, "arguments") {
                        for a in named_children(args) {
                            if let Some(e) = a.named_child(0).map(strip) {
                                if kind_of(e) == "identifier" {
                                    done.push(text(e, src).to_string());
                                }
                            }
                        }
                    }
                } else if method == "ConfigureAwait" {
                    if let Some(r) = receiver.map(strip).filter(|r| kind_of(r) == "identifier") {
                        done.push(text(r, src).to_string());
                    }
                }
            }
            _ => {}
        }
        for name in done {
            // The awaited variable may belong to an enclosing scope: record it where it lives.
            let scope = self
                .scopes(f)
                .find(|&s| self.vars.contains(s, &name))
                .unwrap_or(f);
            self.completed.insert(f, name.clone(), ());
            self.completed.insert(scope, name, ());
        }
    }

    /// `if (t.IsCompletedSuccessfully) return t.Result;` and
    /// `if (await Task.WhenAny(a, b) == a) return a.Result;`: inside the branch the task is done.
    pub(super) fn completion_guard(&mut self, node: Node<'t>) {
        let src = self.src;
        let (Some(condition), Some(consequence)) =
            (field(node, "condition"), field(node, "consequence"))
        else {
            return;
        };
        let mut names = Vec::new();
        let mut stack = vec![condition];
        let mut budget = 200;
        while let Some(n) = stack.pop() {
            budget -= 1;
            if budget == 0 {
                break;
            }
            match kind_of(n) {
                "prefix_unary_expression" if text(n, src).starts_with('!') => continue,
                "lambda_expression" => continue,
                "member_access_expression" => {
                    let name = field(n, "name").map_or("", |m| text(m, src));
                    let e = field(n, "expression").map(strip);
                    if matches!(
                        name,
                        "IsCompleted" | "IsCompletedSuccessfully" | "IsFaulted" | "IsCanceled"
                    ) {
                        if let Some(e) = e.filter(|e| kind_of(e) == "identifier") {
                            names.push(text(e, src).to_string());
                        }
                        continue;
                    }
                }
                "binary_expression" => {
                    let op = n
                        .child_by_field_name("operator")
                        .map_or("", |o| text(o, src));
                    let (l, r) = (field(n, "left"), field(n, "right"));
                    if op == "==" {
                        if let (Some(l), Some(r)) = (l.map(strip), r.map(strip)) {
                            for (a, b) in [(l, r), (r, l)] {
                                if kind_of(a) == "await_expression"
                                    && text(a, src).contains("WhenAny")
                                    && kind_of(b) == "identifier"
                                {
                                    names.push(text(b, src).to_string());
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
            stack.extend(named_children(n));
        }
        for name in names {
            self.completed_ranges
                .push((consequence.start_byte(), consequence.end_byte(), name));
        }
    }
}
