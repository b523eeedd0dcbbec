// Results as of a moment: what the results page says when the API does not answer with them.
import { ApiError, type FieldProblem } from './api'
import { formatLocalTime } from './format'

/** A failure to show: what happened, the server's own words, and whether trying again may help. */
export interface AsOfProblem {
  title: string
  /** The server's detail, when no field says more. */
  detail: string
  /** The inputs the server refused, each with why and what it accepts. */
  fields: FieldProblem[]
  retry: boolean
}

/** Explains why the results as of `asOf` (RFC 3339, as asked) could not be shown. */
export function asOfProblem(err: unknown, asOf: string): AsOfProblem {
  if (!(err instanceof ApiError)) {
    return { title: 'Something went wrong loading these results.', detail: String(err), fields: [], retry: true }
  }
  const fields = err.fields
  const detail = fields.length > 0 ? '' : err.detail
  const moment = formatLocalTime(asOf)
  switch (err.status) {
    case 0:
      return { title: 'Could not reach the server.', detail: 'Check your connection and try again.', fields: [], retry: true }
    case 400:
      return { title: `The server refused the moment ${moment}.`, detail, fields, retry: false }
    case 404:
      if (fields.some((f) => f.key === 'as_of')) {
        return {
          title: `No results as of ${moment} yet: that moment has not come. Choose an earlier one.`,
          detail,
          fields,
          retry: false,
        }
      }
      return { title: 'No such contest.', detail, fields, retry: false }
    case 503:
      return {
        title: 'Results as of a moment cannot be computed right now (they are read from the log).',
        detail,
        fields,
        retry: true,
      }
    default:
      return { title: `The server could not answer (HTTP ${err.status}).`, detail, fields, retry: true }
  }
}
