import pytest
from django.urls import reverse

from accounts.models import CreatorStatus, User
from streams.models import Stream

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")


def apply(client, user, reason="I want to stream my woodworking."):
    client.force_login(user)
    return client.post(reverse("accounts:become-creator"), {"reason": reason})


def test_a_user_applies_from_the_site(client, viewer):
    response = apply(client, viewer)
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.creator_status == CreatorStatus.PENDING
    assert viewer.creator_application == "I want to stream my woodworking."
    assert viewer.applied_at is not None
    page = client.get(reverse("accounts:become-creator")).content.decode()
    assert "Pending review" in page


def test_an_application_needs_a_reason(client, viewer):
    response = apply(client, viewer, reason="")
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    viewer.refresh_from_db()
    assert viewer.creator_status == CreatorStatus.NONE


def test_a_pending_user_cannot_apply_twice(client, pending_creator):
    response = apply(client, pending_creator)
    assert response.status_code == 200
    assert "already waiting" in str(response.context["form"].non_field_errors())


def test_applying_requires_login(client):
    response = client.get(reverse("accounts:become-creator"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_staff_approve_through_the_changelist_action(client, staff, pending_creator):
    client.force_login(staff)
    response = client.post(
        CHANGELIST, {"action": "approve_creators", "_selected_action": [pending_creator.pk]}, follow=True
    )
    assert response.status_code == 200
    pending_creator.refresh_from_db()
    assert pending_creator.creator_status == CreatorStatus.APPROVED
    assert pending_creator.reviewed_by == staff
    assert pending_creator.reviewed_at is not None
    assert pending_creator.is_approved_creator
    assert Stream.objects.filter(user=pending_creator).count() == 1


def test_staff_reject_and_the_user_reapplies(client, staff, pending_creator):
    client.force_login(staff)
    client.post(CHANGELIST, {"action": "reject_creators", "_selected_action": [pending_creator.pk]})
    pending_creator.refresh_from_db()
    assert pending_creator.creator_status == CreatorStatus.REJECTED
    assert pending_creator.reviewed_by == staff
    assert not Stream.objects.filter(user=pending_creator).exists()

    response = apply(client, pending_creator, reason="Second try, with a schedule this time.")
    assert response.status_code == 302
    pending_creator.refresh_from_db()
    assert pending_creator.creator_status == CreatorStatus.PENDING
    assert pending_creator.reviewed_by is None


def test_staff_approve_from_the_users_own_page(client, staff, pending_creator):
    client.force_login(staff)
    url = reverse("admin:accounts_user_change", args=[pending_creator.pk])
    form = client.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None and key != "password"}
    data.update(
        {
            "date_joined_0": pending_creator.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": pending_creator.date_joined.strftime("%H:%M:%S"),
            "_approve_creator": "Approve as creator",
        }
    )
    data.pop("date_joined", None)
    data.pop("last_login", None)
    data["groups"] = []
    data["user_permissions"] = []
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    pending_creator.refresh_from_db()
    assert pending_creator.creator_status == CreatorStatus.APPROVED
    assert Stream.objects.filter(user=pending_creator).exists()


def test_the_changelist_lists_pending_applications_first(client, staff, viewer, pending_creator):
    client.force_login(staff)
    response = client.get(CHANGELIST)
    usernames = [user.username for user in response.context["cl"].result_list]
    assert usernames[0] == "dave"
    filtered = client.get(CHANGELIST, {"creator_status__exact": "pending"})
    assert [user.username for user in filtered.context["cl"].result_list] == ["dave"]


@pytest.mark.parametrize("url", [CHANGELIST, reverse("admin:index")])
def test_a_non_staff_user_cannot_reach_the_admin(client, viewer, url):
    client.force_login(viewer)
    response = client.get(url)
    assert response.status_code == 302
    assert "/admin/login/" in response.url
    response = client.post(CHANGELIST, {"action": "approve_creators", "_selected_action": [viewer.pk]})
    viewer.refresh_from_db()
    assert viewer.creator_status == CreatorStatus.NONE


def test_approving_twice_keeps_one_stream(staff, pending_creator):
    from streams.services import creator_approve

    creator_approve(user=pending_creator, reviewer=staff)
    creator_approve(user=pending_creator, reviewer=staff)
    assert Stream.objects.filter(user=pending_creator).count() == 1
    assert User.objects.get(pk=pending_creator.pk).is_approved_creator
