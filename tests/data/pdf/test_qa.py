"""Near misses (:func:`lorakit.data.pdf.qa.near_misses`): questions one condition away from what the excerpt says;
inverse questions: the description asks, the name answers (:func:`located_questions`, :func:`described_questions`)."""

from __future__ import annotations

from lorakit.data.pdf.qa import described_questions, described_rows, located_questions, near_misses

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


# verbatim lines of the FHS 3.0 (examples/fhs-3.0.pdf) as lorakit's parser extracts them: the tables lose their columns
ROOT_TABLE = ("The following directories, or symbolic links to directories, are required in /var:\n"
              "Directory Description cache Application cache data lib Variable state information local Variable data "
              "for /usr/local lock Lock files log Log files and directories")
COMMANDS = ("Command Description rmdir Utility to remove empty directories sed The `sed' stream editor\n"
            "Command Description csh The C shell (optional) ed The `ed' editor (optional) docbook docbook XML DTD "
            "(optional)")
FILES = ("File Description host.conf Resolver configuration file (optional) hosts Static information about host names "
         "(optional) resolv.conf Resolver configuration file (optional)")


def test_a_path_heading_is_asked_backwards_with_the_path_as_the_answer():
    assert located_questions(["FHS", "5.9. /var/lock : Lock files", "5.9.1. Purpose"]) == [
        ("Where are lock files kept?", "/var/lock")]  # the deepest described heading, not "Purpose"
    assert located_questions(["FHS", "3.11. /media : Mount point for removable media"]) == [
        ("Where can the mount point for removable media be found?", "/media")]  # a singular head noun
    # no path, a description the page cut off, a description cut after a preposition: nothing
    assert located_questions(["4.2 Home office : Allowance rules"]) == []
    assert located_questions(["4.11. /usr/share : Architecture-"]) == []
    assert located_questions(["3.17. /srv : Data for services provided by this"]) == []


def test_a_table_that_lost_its_columns_comes_back_as_rows():
    kind, rows = described_rows(ROOT_TABLE.splitlines()[1])
    assert kind == "directory"
    assert rows == [("cache", "Application cache data"), ("lib", "Variable state information"),
                    ("local", "Variable data for /usr/local"), ("lock", "Lock files"),
                    ("log", "Log files and directories")]
    # "(optional)" ends a row; "sed" and "ed" are names, not participles; "docbook XML" is not a row boundary
    assert described_rows(COMMANDS.splitlines()[0])[1] == [("rmdir", "Utility to remove empty directories"),
                                                           ("sed", "The `sed' stream editor")]
    assert described_rows(COMMANDS.splitlines()[1])[1] == [("csh", "The C shell"), ("ed", "The `ed' editor"),
                                                           ("docbook", "docbook XML DTD")]
    assert described_rows("Directory structure is described below in detail for each part.") is None


def test_table_rows_are_asked_by_their_description_and_answered_with_the_name():
    qa = dict(described_questions(ROOT_TABLE))
    # a directory table's names are relative to the path its lead-in sentence ends with
    assert qa["Which directory is for lock files?"] == "/var/lock"
    assert qa["What is the directory for log files and directories?"] == "/var/log"
    assert dict(described_questions(COMMANDS))["Which command is used to remove empty directories?"] == "rmdir"
    assert dict(described_questions(COMMANDS))["Which command is the C shell?"] == "csh"
    # without a path before it, a directory table's names are the section subject's children, or left as written
    assert dict(described_questions(ROOT_TABLE.splitlines()[1], "/usr"))["Which directory is for lock files?"] == \
        "/usr/lock"
    assert dict(described_questions(ROOT_TABLE.splitlines()[1]))["Which directory is for lock files?"] == "lock"
    # two rows with one description: the question has two answers, so it is not asked
    assert described_questions(FILES) == [("What is the file for static information about host names?", "hosts")]
