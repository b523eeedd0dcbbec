// Shapes a Results payload into what the results page draws.
import type { PerSecond, Results } from './api'

export interface Bar {
  label: string
  votes: number
  /** Bar width in percent of the track: proportional to votes, the leader fills it. */
  width: number
  /** Share of the parent total, formatted by the caller. */
  share: number
}

export interface BandBar extends Bar {
  albums: Bar[]
}

function bars<T>(items: T[], votesOf: (t: T) => number, labelOf: (t: T) => string, total: number): Bar[] {
  const max = items.reduce((m, t) => Math.max(m, votesOf(t)), 0)
  return items.map((t) => {
    const votes = votesOf(t)
    return {
      label: labelOf(t),
      votes,
      width: max > 0 ? (votes / max) * 100 : 0,
      share: total > 0 ? votes / total : 0,
    }
  })
}

/** Bands (and their albums) sorted by votes descending, ties by name, with bar widths and shares. */
export function bandBars(results: Pick<Results, 'total' | 'bands'>): BandBar[] {
  const byVotes = <T extends { votes: number }>(name: (t: T) => string) => (a: T, b: T) =>
    b.votes - a.votes || name(a).localeCompare(name(b))
  const bands = [...results.bands].sort(byVotes((b) => b.band))
  const total = results.total > 0 ? results.total : bands.reduce((s, b) => s + b.votes, 0)
  const top = bars(bands, (b) => b.votes, (b) => b.band, total)
  return top.map((bar, i) => {
    const band = bands[i]!
    const albums = [...band.albums].sort(byVotes((a) => a.album))
    return { ...bar, albums: bars(albums, (a) => a.votes, (a) => a.album, band.votes) }
  })
}

/**
 * Exactly `size` consecutive seconds ending at the latest one (the later of
 * as_of's second and the newest data point), oldest first; seconds missing
 * from the payload count as 0 votes.
 */
export function perSecondSeries(perSecond: PerSecond[], asOf: string, size = 60): PerSecond[] {
  const asOfMs = Date.parse(asOf)
  const newest = perSecond.reduce((m, p) => Math.max(m, p.second), Number.NEGATIVE_INFINITY)
  let end = Number.isNaN(asOfMs) ? newest : Math.max(Math.floor(asOfMs / 1000), newest)
  if (!Number.isFinite(end)) end = 0
  const counts = new Map<number, number>()
  for (const p of perSecond) counts.set(p.second, (counts.get(p.second) ?? 0) + p.votes)
  const series: PerSecond[] = []
  for (let s = end - size + 1; s <= end; s++) series.push({ second: s, votes: counts.get(s) ?? 0 })
  return series
}

export interface SparkBar {
  x: number
  y: number
  height: number
}

/** Bar geometry for an SVG of the given height, one unit of width per point. */
export function sparkBars(series: PerSecond[], height: number): SparkBar[] {
  const max = series.reduce((m, p) => Math.max(m, p.votes), 0)
  return series.map((p, i) => {
    const h = max > 0 ? (p.votes / max) * height : 0
    return { x: i, y: height - h, height: h }
  })
}

export function seriesSummary(series: PerSecond[]): { peak: number; latest: number; sum: number } {
  return {
    peak: series.reduce((m, p) => Math.max(m, p.votes), 0),
    latest: series.length > 0 ? series[series.length - 1]!.votes : 0,
    sum: series.reduce((s, p) => s + p.votes, 0),
  }
}
