import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import BandList from './BandList.vue'
import { makeResults } from '../test/fakes'

describe('BandList', () => {
  it('draws bars proportional to votes', () => {
    const { total, bands } = makeResults()
    const wrapper = mount(BandList, { props: { total, bands } })
    const widths = wrapper.findAll('.band-toggle .fill').map((f) => f.attributes('style'))
    expect(widths).toEqual(['width: 100%;', 'width: 50%;'])
  })

  it('expands a band to its albums with a keyboard-operable button', async () => {
    const { total, bands } = makeResults()
    const wrapper = mount(BandList, { props: { total, bands } })
    const toggle = wrapper.findAll('button.band-toggle')[0]!
    expect(toggle.attributes('aria-expanded')).toBe('false')
    expect(wrapper.findAll('[data-testid="album-row"]')).toHaveLength(0)

    await toggle.trigger('click')
    expect(toggle.attributes('aria-expanded')).toBe('true')
    const panel = wrapper.find(`#${toggle.attributes('aria-controls')}`)
    expect(panel.exists()).toBe(true)
    const albums = panel.findAll('[data-testid="album-row"]')
    expect(albums.map((a) => a.find('.band-name').text())).toEqual(['OK Computer', 'Kid A'])
    expect(albums[0]!.text()).toContain('70% of band')

    await toggle.trigger('click')
    expect(wrapper.findAll('[data-testid="album-row"]')).toHaveLength(0)
  })

  it('keeps a band expanded when it moves in the ranking', async () => {
    const { total, bands } = makeResults()
    const wrapper = mount(BandList, { props: { total, bands } })
    await wrapper.findAll('button.band-toggle')[1]!.trigger('click') // Björk
    await wrapper.setProps({ bands: [{ ...bands[1]!, votes: 2000 }, bands[0]!], total: 3000 })
    const first = wrapper.findAll('[data-testid="band-row"]')[0]!
    expect(first.attributes('data-band')).toBe('Björk')
    expect(first.find('button').attributes('aria-expanded')).toBe('true')
  })
})
