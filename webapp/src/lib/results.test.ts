import { describe, expect, it } from 'vitest'
import { bandBars, perSecondSeries, seriesSummary, sparkBars } from './results'

describe('bandBars', () => {
  const results = {
    total: 10,
    bands: [
      { band: 'B', votes: 2, albums: [{ album: 'b1', votes: 2 }] },
      {
        band: 'A',
        votes: 8,
        albums: [
          { album: 'a2', votes: 2 },
          { album: 'a1', votes: 6 },
        ],
      },
    ],
  }

  it('sorts by votes and makes the leader full width', () => {
    const rows = bandBars(results)
    expect(rows.map((r) => r.label)).toEqual(['A', 'B'])
    expect(rows[0]!.width).toBe(100)
    expect(rows[1]!.width).toBe(25)
  })

  it('computes shares of the total and album shares of the band', () => {
    const [a] = bandBars(results)
    expect(a!.share).toBeCloseTo(0.8)
    expect(a!.albums.map((x) => [x.label, x.votes, x.width, x.share])).toEqual([
      ['a1', 6, 100, 0.75],
      ['a2', 2, (2 / 6) * 100, 0.25],
    ])
  })

  it('breaks ties by name', () => {
    const rows = bandBars({
      total: 2,
      bands: [
        { band: 'Zed', votes: 1, albums: [] },
        { band: 'Abba', votes: 1, albums: [] },
      ],
    })
    expect(rows.map((r) => r.label)).toEqual(['Abba', 'Zed'])
  })

  it('does not divide by zero', () => {
    const rows = bandBars({ total: 0, bands: [{ band: 'X', votes: 0, albums: [{ album: 'x', votes: 0 }] }] })
    expect(rows[0]).toMatchObject({ width: 0, share: 0 })
    expect(rows[0]!.albums[0]).toMatchObject({ width: 0, share: 0 })
  })
})

describe('perSecondSeries', () => {
  const asOf = new Date(100_000 * 1000).toISOString() // second 100000

  it('returns exactly 60 seconds ending at as_of, oldest first, zero-filled', () => {
    const series = perSecondSeries(
      [
        { second: 99_950, votes: 3 },
        { second: 100_000, votes: 7 },
      ],
      asOf,
    )
    expect(series).toHaveLength(60)
    expect(series[0]!.second).toBe(99_941)
    expect(series[59]).toEqual({ second: 100_000, votes: 7 })
    expect(series.find((p) => p.second === 99_950)!.votes).toBe(3)
    expect(series.reduce((s, p) => s + p.votes, 0)).toBe(10)
  })

  it('drops points older than the window', () => {
    const series = perSecondSeries([{ second: 99_000, votes: 5 }], asOf)
    expect(series.every((p) => p.votes === 0)).toBe(true)
  })

  it('ends at the newest point when it is later than as_of', () => {
    const series = perSecondSeries([{ second: 100_005, votes: 1 }], asOf, 10)
    expect(series[9]).toEqual({ second: 100_005, votes: 1 })
  })

  it('copes with an unparseable as_of', () => {
    const series = perSecondSeries([{ second: 5, votes: 1 }], 'nope', 3)
    expect(series).toEqual([
      { second: 3, votes: 0 },
      { second: 4, votes: 0 },
      { second: 5, votes: 1 },
    ])
  })
})

describe('sparkBars', () => {
  it('scales bars to the tallest one', () => {
    const bars = sparkBars(
      [
        { second: 1, votes: 0 },
        { second: 2, votes: 5 },
        { second: 3, votes: 10 },
      ],
      40,
    )
    expect(bars).toEqual([
      { x: 0, y: 40, height: 0 },
      { x: 1, y: 20, height: 20 },
      { x: 2, y: 0, height: 40 },
    ])
  })

  it('draws nothing when there are no votes', () => {
    expect(sparkBars([{ second: 1, votes: 0 }], 40)).toEqual([{ x: 0, y: 40, height: 0 }])
  })
})

describe('seriesSummary', () => {
  it('reports peak, latest and sum', () => {
    expect(
      seriesSummary([
        { second: 1, votes: 4 },
        { second: 2, votes: 9 },
        { second: 3, votes: 2 },
      ]),
    ).toEqual({ peak: 9, latest: 2, sum: 15 })
  })
})
