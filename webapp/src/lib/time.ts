// Moments between a datetime-local input (the browser's local time, no zone) and the
// API's RFC 3339 (UTC, "Z"). Shared by the audit log's since/until and the results' as_of.

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** A datetime-local value ("2024-05-01T13:45" or with ":SS") read as local time -> RFC 3339 UTC. */
export function localInputToRfc3339(value: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d+)?)?$/.exec(value.trim())
  if (!m) return null
  const [, y, mo, d, h, mi, s] = m
  const date = new Date(0)
  // setFullYear, not the Date constructor, which reads the years 0-99 as 1900-1999.
  date.setFullYear(Number(y), Number(mo) - 1, Number(d))
  date.setHours(Number(h), Number(mi), Number(s ?? 0), 0)
  // A day or month past its end (2024-02-30) would roll over into the next one.
  if (Number.isNaN(date.getTime()) || date.getDate() !== Number(d) || date.getMonth() !== Number(mo) - 1) return null
  return date.toISOString().replace('.000Z', 'Z')
}

/** RFC 3339 -> datetime-local value in local time ("YYYY-MM-DDTHH:mm:ss"); "" if unparseable. */
export function rfc3339ToLocalInput(value: string): string {
  if (!value) return ''
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return ''
  return (
    `${String(date.getFullYear()).padStart(4, '0')}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  )
}
