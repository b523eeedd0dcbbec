import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import ResultsPage from './ResultsPage.vue'
import { FakeEventSource, flush, inTimeZone, jsonResponse, makeResults } from '../test/fakes'
import { parseHash } from '../lib/router'

const ONE_CONTEST = {
  default: 'main',
  contests: [{ id: 'main', title: 'main', opens_at: null, closes_at: null, status: 'open', total: 1500 }],
}

beforeEach(() => {
  FakeEventSource.instances = []
  vi.stubGlobal('EventSource', FakeEventSource)
  vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(200, ONE_CONTEST)))
})
afterEach(() => {
  vi.useRealTimers()
})

function source(i = 0): FakeEventSource {
  const es = FakeEventSource.instances[i]
  if (!es) throw new Error(`no EventSource #${i}`)
  return es
}

describe('ResultsPage', () => {
  it('connects to the stream and shows loading until the first event', () => {
    const wrapper = mount(ResultsPage)
    expect(source().url).toBe('/api/v1/results/stream')
    expect(wrapper.find('[data-testid="results-loading"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="live-status"]').text()).toContain('connecting')
    wrapper.unmount()
  })

  it('renders total, bands, lag and live status from an event', async () => {
    const wrapper = mount(ResultsPage)
    source().open()
    source().send(makeResults())
    await wrapper.vm.$nextTick()
    expect(wrapper.find('[data-testid="total"]').text()).toBe('1,500')
    const rows = wrapper.findAll('[data-testid="band-row"]')
    expect(rows.map((r) => r.find('.band-name').text())).toEqual(['Radiohead', 'Björk'])
    expect(rows[0]!.text()).toContain('1,000')
    expect(rows[0]!.text()).toContain('66.7%')
    expect(wrapper.find('[data-testid="lag-badge"]').text()).toBe('up to date')
    expect(wrapper.find('[data-testid="live-status"]').text()).toContain('live')
    expect(wrapper.findAll('rect.spark-bar')).toHaveLength(60)

    source().send(makeResults({ total: 1501, lag: 42 }))
    await wrapper.vm.$nextTick()
    expect(wrapper.find('[data-testid="total"]').text()).toBe('1,501')
    expect(wrapper.find('[data-testid="lag-badge"]').text()).toBe('42 behind')
    wrapper.unmount()
  })

  it('shows the empty state', async () => {
    const wrapper = mount(ResultsPage)
    source().send(makeResults({ total: 0, bands: [], per_second: [] }))
    await wrapper.vm.$nextTick()
    expect(wrapper.find('[data-testid="results-empty"]').text()).toBe('No votes yet.')
    expect(wrapper.findAll('[data-testid="band-row"]')).toHaveLength(0)
    wrapper.unmount()
  })

  it('shows an error and reconnects with backoff after an HTTP error', async () => {
    vi.useFakeTimers()
    vi.spyOn(Math, 'random').mockReturnValue(1)
    const wrapper = mount(ResultsPage)
    source().fail(FakeEventSource.CLOSED)
    await wrapper.vm.$nextTick()
    expect(wrapper.find('[data-testid="results-error"]').exists()).toBe(true)
    const status = wrapper.find('[data-testid="live-status"]')
    expect(status.attributes('data-status')).toBe('reconnecting')
    expect(status.text()).toContain('reconnecting in 1 s')
    expect(FakeEventSource.instances).toHaveLength(1)

    vi.advanceTimersByTime(1000)
    expect(FakeEventSource.instances).toHaveLength(2)
    source(1).open()
    source(1).send(makeResults())
    await wrapper.vm.$nextTick()
    expect(wrapper.find('[data-testid="results-error"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="live-status"]').attributes('data-status')).toBe('live')
    wrapper.unmount()
  })

  it('keeps the last results while reconnecting after a network error', async () => {
    const wrapper = mount(ResultsPage)
    source().open()
    source().send(makeResults())
    source().fail(FakeEventSource.CONNECTING)
    await wrapper.vm.$nextTick()
    expect(wrapper.find('[data-testid="total"]').text()).toBe('1,500')
    expect(wrapper.find('[data-testid="live-status"]').text()).toContain('reconnecting')
    wrapper.unmount()
  })

  it('offers no picker when there is one contest', async () => {
    const wrapper = mount(ResultsPage)
    await flush()
    expect(wrapper.find('[data-testid="contest-picker"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it('closes the stream when leaving the page', () => {
    const wrapper = mount(ResultsPage)
    wrapper.unmount()
    expect(source().closed).toBe(true)
  })
})

describe('ResultsPage with several contests', () => {
  const listing = {
    default: 'main',
    contests: [
      { id: 'main', title: 'Main', opens_at: null, closes_at: null, status: 'open', total: 3 },
      { id: 'best-band-ever', title: 'Best band ever', opens_at: null, closes_at: '2025-01-01T00:00:00Z', status: 'closed', total: 9 },
    ],
  }

  beforeEach(() => {
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(200, listing)))
  })
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it("follows the contest in the route and marks a closed contest's results final", async () => {
    const wrapper = mount(ResultsPage, { props: { query: new URLSearchParams('contest=best-band-ever') } })
    expect(source().url).toBe('/api/v1/contests/best-band-ever/results/stream')
    await flush()
    const picker = wrapper.find<HTMLSelectElement>('[data-testid="contest-picker"]')
    expect(picker.findAll('option').map((o) => o.text())).toEqual(['Main', 'Best band ever (closed)'])
    expect(picker.element.value).toBe('best-band-ever')
    expect(wrapper.find('[data-testid="contest-title"]').text()).toBe('Best band ever')
    source().send(makeResults({ contest: 'best-band-ever', status: 'closed' }))
    await wrapper.vm.$nextTick()
    expect(wrapper.find('[data-testid="results-final"]').text()).toContain('These results are final.')
    wrapper.unmount()
  })

  it('shows the default contest without a route contest, and switches on a pick', async () => {
    const wrapper = mount(ResultsPage, { props: { query: new URLSearchParams() } })
    expect(source().url).toBe('/api/v1/results/stream')
    await flush()
    source().send(makeResults({ contest: 'main', status: 'open' }))
    await wrapper.vm.$nextTick()
    expect(wrapper.find('[data-testid="results-final"]').exists()).toBe(false)
    expect(wrapper.find<HTMLSelectElement>('[data-testid="contest-picker"]').element.value).toBe('main')

    await wrapper.setProps({ query: new URLSearchParams('contest=best-band-ever') })
    expect(source(0).closed).toBe(true)
    expect(source(1).url).toBe('/api/v1/contests/best-band-ever/results/stream')
    expect(wrapper.find('[data-testid="results-loading"]').exists()).toBe(true)
    wrapper.unmount()
  })

  it('picking a contest puts it in the address', async () => {
    const wrapper = mount(ResultsPage, { props: { query: new URLSearchParams() } })
    await flush()
    await wrapper.find('[data-testid="contest-picker"]').setValue('best-band-ever')
    expect(location.hash).toBe('#/?contest=best-band-ever')
    wrapper.unmount()
  })
})

describe('ResultsPage as of a moment', () => {
  const MOMENT = '2024-05-01T19:45:00Z'
  let answers: Record<string, Response>

  beforeEach(() => {
    answers = {}
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => answers[url] ?? jsonResponse(200, ONE_CONTEST)),
    )
  })

  function asOfUrl(contest: string, moment: string): string {
    return `/api/v1/contests/${contest}/results?as_of=${encodeURIComponent(moment)}`
  }

  function requested(): string[] {
    return vi.mocked(fetch).mock.calls.map((c) => String(c[0]))
  }

  it('asks the API once, opens no stream, and shows the moment', async () => {
    answers[asOfUrl('main', MOMENT)] = jsonResponse(200, makeResults({ contest: 'main', as_of: MOMENT, total: 7, final: true }))
    const wrapper = inTimeZone('America/Guatemala', () =>
      mount(ResultsPage, { props: { query: new URLSearchParams(`contest=main&as_of=${MOMENT}`) } }),
    )
    expect(FakeEventSource.instances).toHaveLength(0)
    expect(wrapper.find('[data-testid="results-loading"]').exists()).toBe(true)
    await flush()
    expect(requested()).toContain(asOfUrl('main', MOMENT))
    expect(wrapper.find('[data-testid="total"]').text()).toBe('7')
    const shown = wrapper.find('[data-testid="as-of-shown"]')
    expect(shown.find('time').attributes('datetime')).toBe(MOMENT)
    expect(shown.text()).toContain(MOMENT)
    expect(shown.text()).toContain('final')
    expect(wrapper.find('[data-testid="as-of-badge"]').text()).toBe('not live')
    expect(wrapper.find('[data-testid="live-status"]').exists()).toBe(false)
    // The control shows the moment in local time (the browser drops the :00 seconds).
    expect(wrapper.find<HTMLInputElement>('[data-testid="as-of-input"]').element.value).toBe('2024-05-01T13:45')
    wrapper.unmount()
  })

  it("asks the default contest's results once the list names it", async () => {
    answers[asOfUrl('main', MOMENT)] = jsonResponse(200, makeResults({ as_of: MOMENT, total: 3 }))
    const wrapper = mount(ResultsPage, { props: { query: new URLSearchParams(`as_of=${MOMENT}`) } })
    await flush()
    await flush()
    expect(requested()).toEqual(['/api/v1/contests', asOfUrl('main', MOMENT)])
    expect(wrapper.find('[data-testid="total"]').text()).toBe('3')
    wrapper.unmount()
  })

  it('puts the local moment, in UTC, and the contest in the address', async () => {
    const wrapper = mount(ResultsPage, { props: { query: new URLSearchParams() } })
    await flush()
    expect(wrapper.find('[data-testid="as-of-live"]').exists()).toBe(false)
    inTimeZone('America/Guatemala', () => {
      void wrapper.find('[data-testid="as-of-input"]').setValue('2024-05-01T13:45:00')
      void wrapper.find('[data-testid="as-of-form"]').trigger('submit')
    })
    const query = parseHash(location.hash).query
    expect(query.get('as_of')).toBe(MOMENT)
    expect(query.get('contest')).toBe('main')
    wrapper.unmount()
  })

  it('asks for a moment before sending an empty one', async () => {
    location.hash = '#/'
    const wrapper = mount(ResultsPage, { props: { query: new URLSearchParams() } })
    await wrapper.find('[data-testid="as-of-form"]').trigger('submit')
    expect(wrapper.find('[data-testid="as-of-input-error"]').text()).toBe('Enter a date and time.')
    expect(wrapper.find('[data-testid="as-of-input"]').attributes('aria-invalid')).toBe('true')
    expect(location.hash).toBe('#/')
    wrapper.unmount()
  })

  it('goes back to live results, keeping the contest', async () => {
    answers[asOfUrl('main', MOMENT)] = jsonResponse(200, makeResults({ as_of: MOMENT }))
    const wrapper = mount(ResultsPage, { props: { query: new URLSearchParams(`contest=main&as_of=${MOMENT}`) } })
    await flush()
    await wrapper.find('[data-testid="as-of-live"]').trigger('click')
    expect(location.hash).toBe('#/?contest=main')
    await wrapper.setProps({ query: new URLSearchParams('contest=main') })
    expect(source().url).toBe('/api/v1/contests/main/results/stream')
    expect(wrapper.find('[data-testid="as-of-shown"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="as-of-live"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it('shows a 400 with the refused field, never a blank page', async () => {
    const message = "'yesterday' is not an RFC 3339 date-time; accepted: an RFC 3339 date-time with a time zone"
    answers[asOfUrl('main', 'yesterday')] = jsonResponse(400, {
      status_code: 400,
      detail: `as_of: ${message}`,
      extra: [{ key: 'as_of', source: 'query', message }],
    })
    const wrapper = mount(ResultsPage, { props: { query: new URLSearchParams('contest=main&as_of=yesterday') } })
    await flush()
    const error = wrapper.find('[data-testid="as-of-error"]')
    expect(error.attributes('role')).toBe('alert')
    expect(error.text()).toContain('The server refused the moment yesterday.')
    expect(error.find('li').text()).toBe(`as_of: ${message}`)
    expect(error.find('[data-testid="as-of-retry"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="total"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="as-of-live"]').exists()).toBe(true)
    wrapper.unmount()
  })

  it('says a future moment has not come yet (404)', async () => {
    const future = '2099-01-01T00:00:00Z'
    const message = '2099-01-01T00:00:00+00:00 is in the future (now 2026-12-07T04:32:27+00:00)'
    answers[asOfUrl('main', future)] = jsonResponse(404, {
      status_code: 404,
      detail: `as_of: ${message}`,
      extra: [{ key: 'as_of', source: 'query', message }],
    })
    const wrapper = mount(ResultsPage, { props: { query: new URLSearchParams(`contest=main&as_of=${future}`) } })
    await flush()
    const error = wrapper.find('[data-testid="as-of-error"]')
    expect(error.text()).toContain('that moment has not come')
    expect(error.text()).toContain(message)
    wrapper.unmount()
  })

  it('says when the log cannot be read (503), and tries again on request', async () => {
    answers[asOfUrl('main', MOMENT)] = jsonResponse(503, { status_code: 503, detail: 'the log (Kafka) could not be read' })
    const wrapper = mount(ResultsPage, { props: { query: new URLSearchParams(`contest=main&as_of=${MOMENT}`) } })
    await flush()
    const error = wrapper.find('[data-testid="as-of-error"]')
    expect(error.text()).toContain('cannot be computed right now')
    expect(error.text()).toContain('the log (Kafka) could not be read')
    answers[asOfUrl('main', MOMENT)] = jsonResponse(200, makeResults({ as_of: MOMENT, total: 4 }))
    await error.find('[data-testid="as-of-retry"]').trigger('click')
    await flush()
    expect(wrapper.find('[data-testid="as-of-error"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="total"]').text()).toBe('4')
    wrapper.unmount()
  })
})
