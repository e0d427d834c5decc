/** The result of ordering a dependency graph: an order, or the first cycle found. */
export type Ordering = { readonly order: string[] } | { readonly cycle: string[] };

/**
 * Orders nodes so that each comes after everything it depends on, keeping the given order among
 * independent nodes. `edges` maps a node to its dependencies; every dependency must be a key.
 * A cycle is reported as its path, first node repeated at the end (`a → b → a`).
 */
export function dependencyOrder(edges: ReadonlyMap<string, readonly string[]>): Ordering {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    const seen = state.get(node);
    if (seen === 'done') return undefined;
    if (seen === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const dep of edges.get(node) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    order.push(node);
    return undefined;
  };
  for (const node of edges.keys()) {
    const cycle = visit(node);
    if (cycle) return { cycle };
  }
  return { order };
}

/** The nodes that depend on `node` directly. */
export function dependentsOf(edges: ReadonlyMap<string, readonly string[]>, node: string): string[] {
  return [...edges].filter(([, deps]) => deps.includes(node)).map(([name]) => name);
}
