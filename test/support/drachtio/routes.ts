/**
 * drachtio's request routing table (client-controller.cpp): a multimap from lower-cased verb to app
 * connection, with one round-robin offset per verb. Disconnected apps are skipped and removed lazily.
 */
export interface Routable {
  isOpen(): boolean;
}

export class RouteTable<C extends Routable> {
  private readonly byVerb = new Map<string, C[]>();
  private readonly offsets = new Map<string, number>();

  add(verb: string, client: C): void {
    const key = verb.toLowerCase();
    const list = this.byVerb.get(key) ?? [];
    list.push(client);
    this.byVerb.set(key, list);
  }

  /** Quirk of the real server: `remove_route|<verb>` erases every route of that client, whatever the verb. */
  removeClient(client: C): void {
    for (const [verb, list] of this.byVerb) {
      const kept = list.filter((c) => c !== client);
      if (kept.length) this.byVerb.set(verb, kept);
      else this.byVerb.delete(verb);
    }
  }

  /** Next app for this verb: start at the stored offset (0 if out of range), store offset + 1, skip dead apps. */
  select(verb: string): C | undefined {
    const key = verb.toLowerCase();
    const list = this.byVerb.get(key);
    if (!list || list.length === 0) return undefined;
    const stored = this.offsets.get(key) ?? 0;
    let offset = stored < list.length ? stored : 0;
    this.offsets.set(key, offset + 1);
    for (let tries = 0; tries < list.length; tries++) {
      const client = list[offset];
      if (client.isOpen()) return client;
      offset = (offset + 1) % list.length;
    }
    this.byVerb.set(key, list.filter((c) => c.isOpen()));
    return undefined;
  }

  /** Verbs routed by a client (for tests and debugging). */
  verbsOf(client: C): string[] {
    return [...this.byVerb].filter(([, list]) => list.includes(client)).map(([verb]) => verb);
  }
}
