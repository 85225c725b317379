"""Optional integrations: ``drf`` (Django REST framework) and ``ninja``
(django-ninja). Each imports its framework; nothing else imports them."""
