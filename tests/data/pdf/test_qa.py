"""Near misses (:func:`lorakit.data.pdf.qa.near_misses`): questions one condition away from what the excerpt says."""

from __future__ import annotations

from lorakit.data.pdf.qa import near_misses

TRAVEL = ("All business travel is booked at least 14 days before departure. Flights shorter than 6 hours are booked "
          "in economy class.\nClaims above EUR 1,000 need the approval of the department head.")


def test_a_comparator_becomes_its_opposite_where_the_excerpt_never_says_it():
    assert near_misses("Which class are flights shorter than 6 hours booked in?", "economy class", TRAVEL) == [
        "Which class are flights longer than 6 hours booked in?"]
    assert near_misses("Who do claims above EUR 1,000 need the approval of?", "department head", TRAVEL) == [
        "Who do claims below EUR 1,000 need the approval of?"]
    assert near_misses("How many days before departure is travel booked?", "at least 14 days", TRAVEL) == [
        "How many days after departure is travel booked?"]


def test_no_near_miss_where_the_opposite_is_in_the_excerpt_or_the_word_is_no_comparator():
    both = TRAVEL + " Flights longer than 6 hours are booked in business class."
    assert near_misses("Which class are flights shorter than 6 hours booked in?", "economy class", both) == []
    text = "Up to 5 days of unused leave may be carried over into the next year."
    assert near_misses("How many days may be carried over into the next year?", "Up to 5 days", text) == []
    text = "Accounts are locked after 5 failed attempts."
    assert near_misses("After how many failed attempts are accounts locked?", "5 failed attempts", text) == []


def test_an_enumerated_item_is_swapped_for_a_sibling_the_fact_does_not_name():
    text = ("Information is classified as public, internal, confidential or restricted. Restricted documents are kept "
            "for 7 years.")
    assert near_misses("How long are restricted documents kept?", "7 years", text) == [
        "How long are public documents kept?", "How long are internal documents kept?",
        "How long are confidential documents kept?"]
    # the question about the enumeration itself has no near miss: every sibling is in its sentence
    assert near_misses("How is information classified?", "public, internal, confidential or restricted", text) == []


def test_yes_no_questions_and_answers_not_in_the_excerpt_give_none():
    assert near_misses("Must flights shorter than 6 hours be booked in economy class?", "Yes", TRAVEL) == []
    assert near_misses("Which class are flights shorter than 6 hours booked in?", "first class", TRAVEL) == []
