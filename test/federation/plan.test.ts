// The plan: which clouds a query touches (pruning on segment and cell), what SQL is pushed
// down, and that LIMIT never goes below a cross-cloud GROUP BY.
import { afterAll, describe, expect, it } from 'vitest';
import { createFederator } from '../../src/federation/index.ts';
import { createClickHouseStore } from '../../src/store/index.ts';
import { makeDataset, shanghai } from './fixtures.ts';

const topo = shanghai();
const ds = makeDataset(topo);
const stores = ['cloud-a', 'cloud-b', 'cloud-c'].map((c) => createClickHouseStore({ cloud: c, endpoint: { url: 'http://127.0.0.1:9', database: 'x' } }));
const fed = createFederator({ topology: topo, stores });
afterAll(async () => { await Promise.all(stores.map((s) => s.close())); });

const queried = (sql: string) => fed.explain(sql).clouds.filter((c) => !c.pruned).map((c) => c.cloud);

describe('pruning', () => {
  it('a query on one segment touches only its cloud', () => {
    const p = fed.explain("SELECT toStartOfHour(window_start) AS h, sum(packets) FROM traffic_flow WHERE segment = 'central' GROUP BY h ORDER BY h");
    expect(p.clouds.map((c) => [c.cloud, c.pruned])).toEqual([['cloud-a', true], ['cloud-b', false], ['cloud-c', true]]);
    expect(p.strategy).toBe('single-cloud');
    expect(p.pruning.segments).toEqual(['central']);
    // Passed through whole: the GROUP BY, ORDER BY run in that cloud.
    expect(p.clouds[1]!.sql).toMatch(/GROUP BY toStartOfHour\(`window_start`\) ORDER BY toStartOfHour\(`window_start`\) ASC$/);
  });

  it('segment IN and OR prune to the owning clouds', () => {
    expect(queried("SELECT count() FROM packets WHERE segment IN ('north', 'south')")).toEqual(['cloud-a', 'cloud-c']);
    expect(queried("SELECT count() FROM packets WHERE segment = 'north' OR segment = 'central'")).toEqual(['cloud-a', 'cloud-b']);
    expect(queried("SELECT count() FROM packets WHERE speed_kmh > 3 AND (segment = 'south')")).toEqual(['cloud-c']);
    expect(queried("SELECT count() FROM packets WHERE 'south' = segment")).toEqual(['cloud-c']);
  });

  it('conditions that do not pin the segment keep every cloud', () => {
    expect(queried("SELECT count() FROM packets WHERE segment != 'north'")).toEqual(['cloud-a', 'cloud-b', 'cloud-c']);
    expect(queried("SELECT count() FROM packets WHERE segment = 'north' OR speed_kmh > 1")).toEqual(['cloud-a', 'cloud-b', 'cloud-c']);
    expect(queried("SELECT count() FROM packets WHERE NOT (segment = 'north')")).toEqual(['cloud-a', 'cloud-b', 'cloud-c']);
    expect(queried("SELECT count() FROM packets WHERE segment NOT IN ('north')")).toEqual(['cloud-a', 'cloud-b', 'cloud-c']);
  });

  it('a lat/lng region prunes to the clouds whose segments it can touch', () => {
    // north 31.3–31.5, central 31.1–31.3, south 30.9–31.1
    expect(queried('SELECT count() FROM packets WHERE lat BETWEEN 31.38 AND 31.45 AND lng BETWEEN 121.3 AND 121.6')).toEqual(['cloud-a']);
    expect(queried('SELECT count() FROM packets WHERE lat > 30.95 AND lat < 31.02 AND 121.3 < lng AND lng <= 121.5')).toEqual(['cloud-c']);
    // Straddling the 31.3 boundary touches both neighbours, never the far segment.
    expect(queried('SELECT count() FROM packets WHERE lat BETWEEN 31.25 AND 31.35 AND lng BETWEEN 121.3 AND 121.6')).toEqual(['cloud-a', 'cloud-b']);
    // One side unbounded, or OR-ed: no region, every cloud.
    expect(queried('SELECT count() FROM packets WHERE lat > 31.38 AND lng BETWEEN 121.3 AND 121.6')).toEqual(['cloud-a', 'cloud-b', 'cloud-c']);
    expect(queried('SELECT count() FROM packets WHERE lat BETWEEN 31.38 AND 31.45 OR lng BETWEEN 121.3 AND 121.6')).toEqual(['cloud-a', 'cloud-b', 'cloud-c']);
    // Combined with a segment condition: the intersection.
    expect(queried("SELECT count() FROM packets WHERE segment = 'central' AND lat BETWEEN 31.38 AND 31.45 AND lng BETWEEN 121.3 AND 121.6")).toEqual([]);
    expect(fed.explain('SELECT count() FROM packets WHERE lat BETWEEN 31.38 AND 31.45 AND lng BETWEEN 121.3 AND 121.6').pruning.reason).toMatch(/region lat 31\.38\.\.31\.45, lng 121\.3\.\.121\.6/);
  });

  it('contradictory segments and unknown segments prune every cloud', () => {
    const p = fed.explain("SELECT count() FROM packets WHERE segment = 'north' AND segment = 'south'");
    expect(p.strategy).toBe('none');
    expect(p.clouds.every((c) => c.pruned)).toBe(true);
    expect(queried("SELECT count() FROM packets WHERE segment = 'atlantis'")).toEqual([]);
  });

  it('a cell (UInt64 decimal) prunes to the cloud of its segment', () => {
    expect(queried(`SELECT sum(packets) FROM traffic_flow WHERE cell = ${ds.cells.south![0]}`)).toEqual(['cloud-c']);
    expect(queried(`SELECT sum(packets) FROM traffic_flow WHERE cell IN (${ds.cells.north![0]}, ${ds.cells.central![3]})`)).toEqual(['cloud-a', 'cloud-b']);
    // A number that is no H3 cell prunes nothing (conservative).
    expect(queried('SELECT sum(packets) FROM traffic_flow WHERE cell = 12345')).toEqual(['cloud-a', 'cloud-b', 'cloud-c']);
  });
});

describe('pushed-down SQL', () => {
  it('avg becomes sum + count, count becomes a sum of counts; HAVING/ORDER/LIMIT stay in the federator', () => {
    const p = fed.explain('SELECT cell, avg(speed_kmh) AS s, count() FROM packets WHERE speed_kmh > 0 GROUP BY cell HAVING s > 10 ORDER BY s DESC LIMIT 5');
    expect(p.strategy).toBe('merge-aggregate');
    const sql = p.clouds[0]!.sql!;
    expect(sql).toBe('SELECT `cell` AS `__k0`, sum(`speed_kmh`) AS `__p0`, count(`speed_kmh`) AS `__p1`, count() AS `__p2` FROM `packets` WHERE (`speed_kmh` > 0) GROUP BY `cell`');
    expect(sql).not.toMatch(/LIMIT|HAVING|ORDER/);
    expect(p.merge!.partials.map((x) => x.merge)).toEqual(['sum', 'sum', 'sum']);
    expect(p.merge!.limit).toBe('5');
  });

  it('min/max merge as min/max; countIf/sumIf stay conditional in the clouds', () => {
    const p = fed.explain('SELECT min(min_speed), max(max_speed), countIf(speed_count = 0), sumIf(packets, vehicles > 1) FROM traffic_flow');
    expect(p.clouds[0]!.sql).toContain('countIf((`speed_count` = 0))');
    expect(p.clouds[0]!.sql).toContain('sumIf(`packets`, (`vehicles` > 1))');
    expect(p.merge!.partials.map((x) => x.merge)).toEqual(['min', 'max', 'sum', 'sum', 'sum']);
  });

  it('a row query with ORDER BY + LIMIT pushes both down with offset+limit rows per cloud', () => {
    const p = fed.explain('SELECT vehicle_id, ts FROM packets ORDER BY ts DESC LIMIT 10 OFFSET 5');
    expect(p.strategy).toBe('merge-rows');
    expect(p.clouds[0]!.sql).toBe('SELECT `vehicle_id` AS `__c0`, `ts` AS `__c1` FROM `packets` ORDER BY `ts` DESC LIMIT 15');
  });

  it('NOT BETWEEN and BETWEEN are rendered as comparisons that 18.16 accepts', () => {
    const sql = fed.explain('SELECT count() FROM packets WHERE speed_kmh NOT BETWEEN 1 AND 2 OR heading BETWEEN 3 AND 4.5').clouds[0]!.sql!;
    expect(sql).toContain('(((`speed_kmh` < 1) OR (`speed_kmh` > 2)) OR ((`heading` >= 3) AND (`heading` <= 4.5)))');
  });

  it('aliases resolve as in ClickHouse, including an alias shadowing its own column', () => {
    const p = fed.explain('SELECT toStartOfHour(ts) AS ts, count() AS n FROM packets GROUP BY ts ORDER BY n');
    expect(p.clouds[0]!.sql).toContain('GROUP BY toStartOfHour(`ts`)');
    expect(p.columns).toEqual([{ name: 'ts', type: 'DateTime' }, { name: 'n', type: 'UInt64' }]);
  });
});
