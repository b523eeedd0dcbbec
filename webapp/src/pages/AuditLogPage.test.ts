import { beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import AuditLogPage from './AuditLogPage.vue'
import { flush, jsonResponse, makeVote } from '../test/fakes'
import { parseHash } from '../lib/router'

let fetchMock: ReturnType<typeof vi.fn>

beforeEach(() => {
  fetchMock = vi.fn()
  vi.stubGlobal('fetch', fetchMock)
  location.hash = ''
})

function mountAt(query: string) {
  return mount(AuditLogPage, { props: { query: new URLSearchParams(query) } })
}

function requestedUrls(): string[] {
  return fetchMock.mock.calls.map((c) => String(c[0]))
}

describe('AuditLogPage', () => {
  it('loads votes with the URL filters and renders rows', async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { votes: [makeVote(1), makeVote(2)], next_cursor: 'c2' }))
    const wrapper = mountAt('band=Radiohead&year=1997')
    expect(wrapper.find('[data-testid="votes-loading"]').exists()).toBe(true)
    await flush()
    expect(requestedUrls()).toEqual(['/api/v1/votes?band=Radiohead&year=1997'])
    const rows = wrapper.findAll('[data-testid="vote-row"]')
    expect(rows).toHaveLength(2)
    const idButton = rows[0]!.find('button')
    expect(idButton.text()).toBe('0191f0a2…')
    expect(idButton.attributes('title')).toBe(makeVote(1).vote_id)
    expect(idButton.attributes('aria-label')).toContain(makeVote(1).vote_id)
    expect((wrapper.find('[data-testid="filter-band"]').element as HTMLInputElement).value).toBe('Radiohead')
  })

  it('pages with the cursor and goes back to the first page', async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { votes: [makeVote(1)], next_cursor: 'opaque+/=' }))
    const wrapper = mountAt('band=A')
    await flush()
    expect(wrapper.find('[data-testid="first-page"]').exists()).toBe(false)
    await wrapper.find('[data-testid="next-page"]').trigger('click')
    const route = parseHash(location.hash)
    expect(route.name).toBe('log')
    expect(route.query.get('cursor')).toBe('opaque+/=')
    expect(route.query.get('band')).toBe('A')

    await wrapper.setProps({ query: route.query })
    await flush()
    expect(requestedUrls().at(-1)).toBe('/api/v1/votes?band=A&cursor=opaque%2B%2F%3D')
    await wrapper.find('[data-testid="first-page"]').trigger('click')
    expect(parseHash(location.hash).query.has('cursor')).toBe(false)
  })

  it('has no next page at the end of the log', async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { votes: [makeVote(1)], next_cursor: null }))
    const wrapper = mountAt('')
    await flush()
    expect(wrapper.find('[data-testid="next-page"]').exists()).toBe(false)
  })

  it('submitting filters writes them to the URL and drops the cursor', async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { votes: [], next_cursor: null }))
    const wrapper = mountAt('cursor=abc')
    await flush()
    await wrapper.find('[data-testid="filter-band"]').setValue('  Björk ')
    await wrapper.find('[data-testid="filter-year"]').setValue('1997')
    await wrapper.find('form.filters').trigger('submit')
    const query = parseHash(location.hash).query
    expect(query.get('band')).toBe('Björk')
    expect(query.get('year')).toBe('1997')
    expect(query.has('cursor')).toBe(false)
  })

  it('blocks an invalid year before calling the API', async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { votes: [], next_cursor: null }))
    const wrapper = mountAt('')
    await flush()
    location.hash = '#/log'
    await wrapper.find('[data-testid="filter-year"]').setValue('nineteen')
    await wrapper.find('form.filters').trigger('submit')
    expect(wrapper.find('[data-testid="filter-error"]').text()).toBe('Year must be a whole number.')
    expect(location.hash).toBe('#/log')
  })

  it('shows the empty state', async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { votes: [], next_cursor: null }))
    const wrapper = mountAt('band=Nobody')
    await flush()
    expect(wrapper.find('[data-testid="votes-empty"]').text()).toBe('No votes match these filters.')
    expect(wrapper.find('[data-testid="votes-table"]').exists()).toBe(false)
  })

  it("shows the API's detail for a 400", async () => {
    fetchMock.mockResolvedValue(jsonResponse(400, { status_code: 400, detail: 'Invalid cursor' }))
    const wrapper = mountAt('cursor=bogus')
    await flush()
    const error = wrapper.find('[data-testid="votes-error"]')
    expect(error.text()).toBe('Invalid cursor')
    expect(error.attributes('role')).toBe('alert')
    expect(wrapper.find('[data-testid="votes-table"]').exists()).toBe(false)
  })

  it('does not refetch the list when only the looked-up vote changes', async () => {
    fetchMock.mockImplementation(async (url: string) =>
      url.includes('/votes/')
        ? jsonResponse(200, makeVote(7))
        : jsonResponse(200, { votes: [makeVote(7)], next_cursor: null }),
    )
    const wrapper = mountAt('band=A')
    await flush()
    await wrapper.find('[data-testid="vote-row"] button').trigger('click')
    const query = parseHash(location.hash).query
    expect(query.get('vote')).toBe(makeVote(7).vote_id)
    await wrapper.setProps({ query })
    await flush()
    expect(requestedUrls().filter((u) => u.startsWith('/api/v1/votes?'))).toHaveLength(1)
    expect(wrapper.find('[data-testid="vote-detail"]').text()).toContain(makeVote(7).vote_id)
  })

  it('marks a superseded vote as not counted and shows the counted one on request', async () => {
    const counted = makeVote(1)
    const later = makeVote(2, { superseded_by: counted.vote_id })
    fetchMock.mockImplementation(async (url: string) =>
      url.includes('/votes/')
        ? jsonResponse(200, counted)
        : jsonResponse(200, { votes: [later, counted], next_cursor: null }),
    )
    const wrapper = mountAt('')
    await flush()
    const [laterRow, countedRow] = wrapper.findAll('[data-testid="vote-row"]')
    const mark = laterRow!.find('[data-testid="superseded"]')
    expect(mark.text()).toContain('superseded — not counted')
    const link = mark.find('[data-testid="counted-vote"]')
    expect(link.text()).toBe('0191f0a2…')
    expect(link.attributes('title')).toBe(counted.vote_id)
    expect(link.attributes('aria-label')).toBe(`Show the counted vote ${counted.vote_id}`)
    expect(countedRow!.find('[data-testid="superseded"]').exists()).toBe(false)
    // No vote here names a voter: no voter column.
    expect(wrapper.find('[data-testid="voter"]').exists()).toBe(false)
    expect(wrapper.text()).not.toContain('Voter')

    await link.trigger('click')
    expect(parseHash(location.hash).query.get('vote')).toBe(counted.vote_id)
  })

  it("names voters by their pseudonym, never by an id the API may still send", async () => {
    const pseudonym = '3f9a0c1be27d4c58a6f1d2e3b4c5d6e7'
    // Were an API to send voter_id (an older service), the page must still not show it.
    const vote = { ...makeVote(1, { voter: pseudonym }), voter_id: 'alice@example.org' }
    fetchMock.mockImplementation(async (url: string) =>
      url.includes('/votes/') ? jsonResponse(200, vote) : jsonResponse(200, { votes: [vote, makeVote(2)], next_cursor: null }),
    )
    const wrapper = mountAt(`vote=${vote.vote_id}`)
    await flush()
    expect(wrapper.find('th:last-child').text()).toBe('Voter (pseudonym)')
    const [named, unnamed] = wrapper.findAll('[data-testid="vote-row"]')
    const voter = named!.find('[data-testid="voter"]')
    expect(voter.text()).toBe('3f9a0c1b…')
    expect(voter.attributes('title')).toBe(pseudonym)
    expect(unnamed!.find('[data-testid="voter"]').text()).toBe('none')
    expect(wrapper.find('[data-testid="vote-detail"] [data-testid="voter"]').text()).toBe(pseudonym)
    expect(wrapper.html()).not.toContain('alice')
  })
})
