"""Party members' points told over the broker: a no-show's deduction (the registry's points_recorded
of the no_show rule) reaches the member; other entries tell nobody."""


def test_a_member_is_told_of_the_point_a_no_show_cost_and_of_no_other_entry(post):
    member = post.register_person(roles=[], district="aodele")
    post.publish("registry", "points_recorded", person_id=member["person_id"], rule="attended_activity")
    post.publish(
        "registry",
        "points_recorded",
        person_id=member["person_id"],
        points=-1,
        balance=1,
        rule="no_show",
        reason="报名未参加活动：端午亲子露营节",
    )
    [told] = post.wait_for("n.rule = 'points_deducted_for_no_show' AND d.channel = 'inbox'")
    assert told["recipient"] == f"person:{member['person_id']}"
    assert post.deliveries("n.rule <> 'points_deducted_for_no_show'") == []
