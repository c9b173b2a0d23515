// Mean speed → colour: red (standing) through yellow to green (80 km/h and faster), the
// diverging RdYlGn scheme also drawn in the page's legend. Grey when no packet had a speed.
const STOPS: [number, [number, number, number]][] = [
  [0, [215, 48, 39]],
  [20, [252, 141, 89]],
  [40, [254, 224, 139]],
  [60, [145, 207, 96]],
  [80, [26, 152, 80]],
];

export function speedColour(kmh: number | null): [number, number, number] {
  if (kmh === null) return [139, 148, 158];
  const v = Math.max(0, Math.min(80, kmh));
  for (let i = 1; i < STOPS.length; i++) {
    const [x1, c1] = STOPS[i]!;
    const [x0, c0] = STOPS[i - 1]!;
    if (v <= x1) {
      const t = (v - x0) / (x1 - x0);
      return [0, 1, 2].map((k) => Math.round(c0[k]! + t * (c1[k]! - c0[k]!))) as [number, number, number];
    }
  }
  return STOPS[STOPS.length - 1]![1];
}
