import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import ResultsPage from './ResultsPage.vue'
import { FakeEventSource, makeResults } from '../test/fakes'

beforeEach(() => {
  FakeEventSource.instances = []
  vi.stubGlobal('EventSource', FakeEventSource)
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

  it('closes the stream when leaving the page', () => {
    const wrapper = mount(ResultsPage)
    wrapper.unmount()
    expect(source().closed).toBe(true)
  })
})
