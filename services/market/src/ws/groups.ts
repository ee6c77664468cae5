// Clients grouped by their exact set of symbols: everyone in a group gets
// the same tick frame, so it is encoded and framed once per group per tick.
export interface Group<C> {
  readonly key: string;
  /** Sorted. */
  readonly symbols: readonly string[];
  readonly clients: Set<C>;
}

export class Groups<C> {
  private readonly byKey = new Map<string, Group<C>>();
  private readonly bySymbol = new Map<string, Set<Group<C>>>();

  /** Moves a client out of `from` into the group of `symbols`; undefined when it follows nothing. */
  move(client: C, from: Group<C> | undefined, symbols: ReadonlySet<string>): Group<C> | undefined {
    if (from !== undefined) this.leave(client, from);
    if (symbols.size === 0) return undefined;
    const sorted = [...symbols].sort();
    const key = sorted.join(",");
    let group = this.byKey.get(key);
    if (group === undefined) {
      group = { key, symbols: sorted, clients: new Set() };
      this.byKey.set(key, group);
      for (const s of sorted) {
        let groups = this.bySymbol.get(s);
        if (groups === undefined) {
          groups = new Set();
          this.bySymbol.set(s, groups);
        }
        groups.add(group);
      }
    }
    group.clients.add(client);
    return group;
  }

  /** Whether any client follows the symbol. */
  follows(symbol: string): boolean {
    return this.bySymbol.has(symbol);
  }

  /** The groups following at least one of the symbols, each once. */
  following(symbols: Iterable<string>): Set<Group<C>> {
    const out = new Set<Group<C>>();
    for (const s of symbols) for (const g of this.bySymbol.get(s) ?? []) out.add(g);
    return out;
  }

  /** The last client of a group takes it along: clients cannot grow these maps by trying symbols. */
  private leave(client: C, group: Group<C>): void {
    group.clients.delete(client);
    if (group.clients.size > 0) return;
    this.byKey.delete(group.key);
    for (const s of group.symbols) {
      const groups = this.bySymbol.get(s);
      groups?.delete(group);
      if (groups?.size === 0) this.bySymbol.delete(s);
    }
  }
}
