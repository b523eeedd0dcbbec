// Display formatting. The page is lang="en", so numbers use English grouping.

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

export function formatCount(n: number): string {
  return integer.format(n)
}

/** Share of a total as a percentage with one decimal ("12.5%"); "0%" for an empty total. */
export function formatShare(part: number, total: number): string {
  if (total <= 0) return '0%'
  const pct = (part / total) * 100
  return `${pct.toFixed(1).replace(/\.0$/, '')}%`
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0')
}

/** RFC 3339 (or a Date) in the viewer's local time as "YYYY-MM-DD HH:mm:ss"; the input itself if unparseable. */
export function formatLocalTime(value: string | Date): string {
  const date = typeof value === 'string' ? new Date(value) : value
  if (Number.isNaN(date.getTime())) return String(value)
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  )
}

/** First 8 characters of an ID followed by an ellipsis; short IDs unchanged. */
export function shortenId(id: string, keep = 8): string {
  return id.length <= keep + 1 ? id : `${id.slice(0, keep)}…`
}

export function lagLabel(lag: number): string {
  return lag <= 0 ? 'up to date' : `${formatCount(lag)} behind`
}

/** The badge's tooltip: what the lag counts, and where it comes from ('worker': the query
 * service could not read the log's end offsets, so this is the tallies worker's own view). */
export function lagTitle(lag: number, source: 'log' | 'worker' = 'log'): string {
  const what = lag > 0 ? 'Messages in the log not yet counted' : 'All messages in the log are counted'
  return source === 'worker' ? `${what}, as the tallies worker last saw the log (the log itself could not be read)` : what
}
