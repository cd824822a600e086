//! Dependencies between processes (`depends_on`): the graph checked for unknown names and
//! cycles, the root causes that block a failing dependent, and what a root takes down.
//! Pure: names and states in, names out.
//!
//! # Blocked, exactly
//!
//! A process is *blocked* when its own severity is at least a warning (it fails, by its own
//! rules) while one of its dependencies is critical. Its root cause is found by following
//! critical dependencies down to one none of whose own dependencies is critical; a process
//! with two critical dependencies (or one reached by two paths) names every distinct root,
//! in `depends_on` order. A dependent that is itself fine stays as it is (`up`): a
//! dependency's failure is not assumed to reach it. Only a *critical* dependency blocks: one
//! with `critical = false` never does, and a chain passes only through critical links (a
//! fine `api` between a dead `db` and a failing `web` leaves `web`'s failure its own).

use std::collections::{HashMap, HashSet};

/// What is wrong with a dependency graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// `process` depends on `dependency`, which is not in the graph.
    Unknown { process: String, dependency: String },
    /// A process depends on itself, through the path given (first name repeated last).
    Cycle(Vec<String>),
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphError::Unknown {
                process,
                dependency,
            } => write!(
                f,
                "{process:?} depends on {dependency:?}, which is not a configured process"
            ),
            GraphError::Cycle(path) => {
                let names: Vec<String> = path.iter().map(|n| format!("{n:?}")).collect();
                write!(f, "dependency cycle: {}", names.join(" → "))
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
/// Where the depth-first walk of [`check`] has been.
enum Mark {
    New,
    OnPath,
    Done,
}

/// Checks `nodes` (each a name and what it depends on, in order): every dependency is a
/// node, and no node depends on itself through any path. The error is the first fault in
/// node order; a cycle is given from the first node of the order that is on it.
pub fn check<'a>(nodes: &[(&'a str, &'a [String])]) -> Result<(), GraphError> {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.0, i)).collect();
    for (name, needs) in nodes {
        if let Some(missing) = needs.iter().find(|d| !index.contains_key(d.as_str())) {
            return Err(GraphError::Unknown {
                process: (*name).to_owned(),
                dependency: missing.clone(),
            });
        }
    }
    // Depth-first, iteratively (a chain of thousands must not overflow the stack), with
    // the path kept so that a back edge names the cycle.
    let mut mark = vec![Mark::New; nodes.len()];
    for start in 0..nodes.len() {
        if mark[start] != Mark::New {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::OnPath;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            let Some(dep) = nodes[node].1.get(*next) else {
                mark[node] = Mark::Done;
                path.pop();
                continue;
            };
            *next += 1;
            let dep = index[dep.as_str()];
            match mark[dep] {
                Mark::Done => {}
                Mark::New => {
                    mark[dep] = Mark::OnPath;
                    path.push((dep, 0));
                }
                Mark::OnPath => {
                    let from = path.iter().position(|&(n, _)| n == dep).unwrap_or(0);
                    let mut cycle: Vec<String> = path[from..]
                        .iter()
                        .map(|&(n, _)| nodes[n].0.to_owned())
                        .collect();
                    cycle.push(nodes[dep].0.to_owned());
                    return Err(GraphError::Cycle(cycle));
                }
            }
        }
    }
    Ok(())
}

/// One process as the blocked pass sees it.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    pub name: &'a str,
    pub depends_on: &'a [String],
    /// Its own severity is critical.
    pub critical: bool,
    /// Its own severity is at least a warning.
    pub failing: bool,
}

/// For each node, in order, the root causes that block it (see the module docs); empty
/// for a node that is not blocked. Dependencies that name no node are ignored (the config
/// refuses them; a report may still hold rows of several configs).
pub fn blocked_by(nodes: &[Node<'_>]) -> Vec<Vec<String>> {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.name, i)).collect();
    let mut roots: HashMap<usize, Vec<usize>> = HashMap::new();
    nodes
        .iter()
        .map(|node| {
            if !node.failing {
                return Vec::new();
            }
            let mut found: Vec<usize> = Vec::new();
            for dep in critical_deps(node, nodes, &index) {
                for root in roots_of(dep, nodes, &index, &mut roots) {
                    if !found.contains(&root) {
                        found.push(root);
                    }
                }
            }
            found
                .into_iter()
                .map(|i| nodes[i].name.to_owned())
                .collect()
        })
        .collect()
}

fn critical_deps<'n>(
    node: &'n Node<'_>,
    nodes: &'n [Node<'_>],
    index: &'n HashMap<&str, usize>,
) -> impl Iterator<Item = usize> + 'n {
    node.depends_on
        .iter()
        .filter_map(|d| index.get(d.as_str()).copied())
        .filter(|&i| nodes[i].critical)
}

/// The roots under critical node `at`: itself if none of its dependencies is critical,
/// else theirs. Memoised in `memo`; the walk is iterative, and a cycle (which the config
/// refuses) ends at the node met twice rather than looping.
fn roots_of(
    at: usize,
    nodes: &[Node<'_>],
    index: &HashMap<&str, usize>,
    memo: &mut HashMap<usize, Vec<usize>>,
) -> Vec<usize> {
    let mut stack = vec![at];
    let mut entered: HashSet<usize> = HashSet::new();
    while let Some(&top) = stack.last() {
        if memo.contains_key(&top) {
            stack.pop();
            continue;
        }
        let deps: Vec<usize> = critical_deps(&nodes[top], nodes, index).collect();
        let pending: Vec<usize> = deps
            .iter()
            .copied()
            .filter(|d| !memo.contains_key(d) && !entered.contains(d))
            .collect();
        if entered.insert(top) && !pending.is_empty() {
            stack.extend(pending);
            continue;
        }
        let mut found: Vec<usize> = Vec::new();
        for d in deps {
            for r in memo.get(&d).cloned().unwrap_or_default() {
                if !found.contains(&r) {
                    found.push(r);
                }
            }
        }
        if found.is_empty() {
            found.push(top);
        }
        memo.insert(top, found);
        stack.pop();
    }
    memo.get(&at).cloned().unwrap_or_else(|| vec![at])
}

/// For each node, in order, everything that depends on it directly or through others
/// (what it takes down with it when it fails), in node order.
pub fn dependents(nodes: &[(&str, &[String])]) -> Vec<Vec<String>> {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.0, i)).collect();
    let mut needed_by: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, (_, needs)) in nodes.iter().enumerate() {
        for dep in needs.iter().filter_map(|d| index.get(d.as_str())) {
            needed_by[*dep].push(i);
        }
    }
    (0..nodes.len())
        .map(|start| {
            let mut seen = vec![false; nodes.len()];
            seen[start] = true;
            let mut todo = needed_by[start].clone();
            while let Some(n) = todo.pop() {
                if !std::mem::replace(&mut seen[n], true) {
                    todo.extend(&needed_by[n]);
                }
            }
            seen[start] = false;
            (0..nodes.len())
                .filter(|&i| seen[i])
                .map(|i| nodes[i].0.to_owned())
                .collect()
        })
        .collect()
}

/// `nodes` (in display order) as a tree: each under the first of its dependencies that
/// is among them, indented one deeper, its own dependents under it; those with none there
/// at the top, in their order, and siblings in theirs. A process with two parents shows
/// once, under the first its `depends_on` names (the detail pane names both). Returns
/// `(index into nodes, depth)` in tree order; every node exactly once.
pub fn tree(nodes: &[(&str, &[String])]) -> Vec<(usize, usize)> {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.0, i)).collect();
    let parent: Vec<Option<usize>> = nodes
        .iter()
        .enumerate()
        .map(|(i, (_, needs))| {
            needs
                .iter()
                .find_map(|d| index.get(d.as_str()).copied())
                .filter(|&p| p != i)
        })
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, p) in parent.iter().enumerate() {
        if let Some(p) = *p {
            children[p].push(i);
        }
    }
    let mut out = Vec::with_capacity(nodes.len());
    let mut placed = vec![false; nodes.len()];
    // Tops first; then whatever a cycle (refused by the config) left unplaced, as a top.
    let tops = (0..nodes.len()).filter(|&i| parent[i].is_none());
    for top in tops.chain(0..nodes.len()) {
        if placed[top] {
            continue;
        }
        let mut stack = vec![(top, 0)];
        while let Some((n, depth)) = stack.pop() {
            if std::mem::replace(&mut placed[n], true) {
                continue;
            }
            out.push((n, depth));
            stack.extend(children[n].iter().rev().map(|&c| (c, depth + 1)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `"web:api,cache api:db db cache"` as nodes.
    fn graph(spec: &str) -> Vec<(String, Vec<String>)> {
        spec.split_whitespace()
            .map(|n| {
                let (name, needs) = n.split_once(':').unwrap_or((n, ""));
                let needs = needs
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                (name.to_owned(), needs.collect())
            })
            .collect()
    }

    fn nodes(g: &[(String, Vec<String>)]) -> Vec<(&str, &[String])> {
        g.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect()
    }

    #[test]
    fn check_names_unknown_dependencies_and_cycles_with_their_path() {
        let cases = [
            ("web:api api:db db", Ok(())),
            ("a b c", Ok(())),
            ("web:api,cache api:cache cache", Ok(())),
            (
                "web:dbb db",
                Err(r#""web" depends on "dbb", which is not a configured process"#),
            ),
            ("a:a", Err(r#"dependency cycle: "a" → "a""#)),
            ("a:b b:a", Err(r#"dependency cycle: "a" → "b" → "a""#)),
            (
                "x:a a:b b:c c:a",
                Err(r#"dependency cycle: "a" → "b" → "c" → "a""#),
            ),
            (
                "a:b,c b c:d d:c",
                Err(r#"dependency cycle: "c" → "d" → "c""#),
            ),
        ];
        for (spec, want) in cases {
            let g = graph(spec);
            let got = check(&nodes(&g)).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_owned), "{spec}");
        }
    }

    #[test]
    fn a_long_chain_is_checked_without_overflowing_the_stack() {
        let g: Vec<(String, Vec<String>)> = (0..100_000)
            .map(|i| (format!("p{i}"), vec![format!("p{}", i + 1)]))
            .chain([("p100000".to_owned(), vec!["p0".to_owned()])])
            .collect();
        let Err(GraphError::Cycle(path)) = check(&nodes(&g)) else {
            panic!("no cycle found");
        };
        assert_eq!(path.len(), 100_002);
    }

    /// Runs the blocked pass on `spec` where `states` gives each node's own severity:
    /// `C` critical, `W` failing but not critical, `.` fine.
    fn blocked(spec: &str, states: &str) -> Vec<String> {
        let g = graph(spec);
        let marks: Vec<char> = states.chars().collect();
        let ns: Vec<Node<'_>> = g
            .iter()
            .zip(&marks)
            .map(|((name, deps), &m)| Node {
                name,
                depends_on: deps,
                critical: m == 'C',
                failing: m != '.',
            })
            .collect();
        blocked_by(&ns)
            .into_iter()
            .zip(&g)
            .map(|(roots, (name, _))| format!("{name}<{}", roots.join(",")))
            .collect()
    }

    #[test]
    fn failing_dependents_of_a_critical_process_are_blocked_by_its_root_cause() {
        let cases = [
            // db dead, three failing dependents: each blocked by db.
            (
                "db api:db worker:db web:db",
                "CCWC",
                "db< api<db worker<db web<db",
            ),
            // A dependent that is fine is not blocked.
            ("db api:db web:db", "CC.", "db< api<db web<"),
            // Transitively: web needs api needs db, both failing: the root is db.
            ("db api:db web:api", "CCC", "db< api<db web<db"),
            // A fine link in between breaks the chain.
            ("db api:db web:api", "C.C", "db< api< web<"),
            // Only a critical dependency blocks.
            ("db api:db", "WC", "db< api<"),
            // Two parents, both dead: both roots, in depends_on order.
            ("db cache api:cache,db", "CCC", "db< cache< api<cache,db"),
            // One root reached by two paths is named once.
            ("db a:db b:db top:a,b", "CCCC", "db< a<db b<db top<db"),
            // Nothing critical: nothing blocked.
            ("db api:db", ".W", "db< api<"),
            // A dependency that names no node is ignored.
            ("api:gone", "C", "api<"),
            // A cycle (refused by the config) ends rather than loops.
            ("a:b b:a c:a", "CCC", "a<a b<a c<a"),
        ];
        for (spec, states, want) in cases {
            assert_eq!(blocked(spec, states).join(" "), want, "{spec} {states}");
        }
    }

    #[test]
    fn dependents_are_everything_that_needs_a_process_directly_or_not() {
        let g = graph("db cache api:db,cache worker:db web:api other");
        let got: Vec<String> = dependents(&nodes(&g))
            .into_iter()
            .map(|d| d.join(","))
            .collect();
        assert_eq!(got, ["api,worker,web", "api,web", "web", "", "", ""]);
    }

    #[test]
    fn a_tree_indents_dependents_under_their_first_present_dependency() {
        let cases = [
            (
                "web:api api:db db worker:db cache",
                "db >api >>web >worker cache",
            ),
            // Two parents: under the first named; the order of siblings is kept.
            ("db cache api:cache,db b:db", "db >b cache >api"),
            // A dependency not shown (filtered out) leaves its dependent at the top.
            ("api:db web:api", "api >web"),
            ("x", "x"),
            // A cycle (refused by the config) still shows every node once.
            ("a:b b:a c", "c a >b"),
        ];
        for (spec, want) in cases {
            let g = graph(spec);
            let shown: Vec<String> = tree(&nodes(&g))
                .into_iter()
                .map(|(i, depth)| format!("{}{}", ">".repeat(depth), g[i].0))
                .collect();
            assert_eq!(shown.join(" "), want, "{spec}");
        }
    }
}
