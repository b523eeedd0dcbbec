import { beforeEach, describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import VoteLookup from './VoteLookup.vue'
import { flush, jsonResponse, makeVote } from '../test/fakes'

let fetchMock: ReturnType<typeof vi.fn>

beforeEach(() => {
  fetchMock = vi.fn()
  vi.stubGlobal('fetch', fetchMock)
})

describe('VoteLookup', () => {
  it('emits the trimmed id on submit', async () => {
    const wrapper = mount(VoteLookup, { props: { voteId: null } })
    await wrapper.find('[data-testid="vote-id-search"]').setValue('  abc-123 ')
    await wrapper.find('form').trigger('submit')
    expect(wrapper.emitted('search')).toEqual([['abc-123']])
    expect(fetchMock).not.toHaveBeenCalled()
  })

  it('asks for an id when the box is empty', async () => {
    const wrapper = mount(VoteLookup, { props: { voteId: null } })
    await wrapper.find('form').trigger('submit')
    expect(wrapper.text()).toContain('Enter a vote ID.')
    expect(wrapper.emitted('search')).toBeUndefined()
  })

  it('shows the vote for the id it is given', async () => {
    const vote = makeVote(3, { band: 'Portishead', album: 'Dummy', year: 1994 })
    fetchMock.mockResolvedValue(jsonResponse(200, vote))
    const wrapper = mount(VoteLookup, { props: { voteId: vote.vote_id } })
    await flush()
    expect(fetchMock.mock.calls[0]![0]).toBe(`/api/v1/votes/${vote.vote_id}`)
    const detail = wrapper.find('[data-testid="vote-detail"]')
    expect(detail.text()).toContain('Portishead')
    expect(detail.text()).toContain('Dummy')
    expect(detail.text()).toContain('partition 0, offset 3')
  })

  it('says clearly when the vote does not exist', async () => {
    fetchMock.mockResolvedValue(jsonResponse(404, { status_code: 404, detail: 'Vote not found' }))
    const wrapper = mount(VoteLookup, { props: { voteId: 'missing-id' } })
    await flush()
    expect(wrapper.find('[data-testid="vote-not-found"]').text()).toBe('No vote with ID missing-id was found.')
    expect(wrapper.find('[data-testid="vote-detail"]').exists()).toBe(false)
  })

  it('shows other errors with their detail', async () => {
    fetchMock.mockResolvedValue(jsonResponse(400, { status_code: 400, detail: 'vote_id must be a UUID' }))
    const wrapper = mount(VoteLookup, { props: { voteId: 'x' } })
    await flush()
    expect(wrapper.find('[data-testid="vote-error"]').text()).toBe('vote_id must be a UUID')
  })

  it("marks a superseded vote and offers its voter's counted vote", async () => {
    const counted = makeVote(1)
    const later = makeVote(2, { superseded_by: counted.vote_id, voter: '3f9a0c1be27d4c58a6f1d2e3b4c5d6e7' })
    fetchMock.mockResolvedValue(jsonResponse(200, later))
    const wrapper = mount(VoteLookup, { props: { voteId: later.vote_id } })
    await flush()
    const mark = wrapper.find('[data-testid="vote-detail"] [data-testid="superseded"]')
    expect(mark.text()).toContain('superseded — not counted')
    expect(mark.text()).toContain(counted.vote_id)
    expect(wrapper.find('[data-testid="vote-detail"]').text()).toContain('Voter (pseudonym)')
    await mark.find('[data-testid="counted-vote"]').trigger('click')
    expect(wrapper.emitted('lookup')).toEqual([[counted.vote_id]])

    // The counted vote itself: no mark, and no voter row for a vote that names none.
    fetchMock.mockResolvedValue(jsonResponse(200, counted))
    await wrapper.setProps({ voteId: counted.vote_id })
    await flush()
    const detail = wrapper.find('[data-testid="vote-detail"]')
    expect(detail.text()).toContain(counted.vote_id)
    expect(detail.find('[data-testid="superseded"]').exists()).toBe(false)
    expect(detail.text()).not.toContain('Voter')
  })
})
