import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import ResultsPage from './ResultsPage.vue'
import { FakeEventSource, flush, jsonResponse, makeResults } from '../test/fakes'

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
