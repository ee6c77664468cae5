// What a call would otherwise work out again from its method's (or field's)
// descriptor every time: options parsed by getOption, codecs, URLs, metric
// series. Descriptors live as long as the process; a WeakMap keeps nothing
// alive that would otherwise go.

/** `make`, run once per key and remembered while the key lives (undefined results included). */
export function oncePer<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>();
  return (key) => {
    if (made.has(key)) return made.get(key) as V;
    const value = make(key);
    made.set(key, value);
    return value;
  };
}
