# This file is part of bol_air_portal.
"""The portal's part of the demo (``bolair demo``)."""
import struct
import zlib

# The demo catalogue online, by product code: category, colour of the
# picture, description
CATALOGUE = {
    'AP27': ("Assiettes", (46, 107, 79),
        "Assiette plate en porcelaine de Limoges, bord légèrement relevé.\n\n"
        "Passe au lave-vaisselle et au micro-ondes."),
    'AC22': ("Assiettes", (70, 130, 160),
        "Assiette creuse pour les soupes et les pâtes, porcelaine de "
        "Limoges.\n\nPasse au lave-vaisselle et au micro-ondes."),
    'AD20': ("Assiettes", (190, 120, 80),
        "Petite assiette pour les desserts et les entrées."),
    'BOL50': ("Bols, tasses et mugs", (220, 170, 60),
        "Le bol de la maison : 50 cl pour le petit-déjeuner ou une "
        "salade composée."),
    'TCS': ("Bols, tasses et mugs", (150, 90, 130),
        "Tasse à café et sa soucoupe, finition émaillée."),
    'MUG35': ("Bols, tasses et mugs", (120, 80, 60),
        "Mug en grès émaillé, chaque pièce est unique."),
    'PO35': ("Service", (60, 90, 140),
        "Grand plat ovale pour les rôtis et les poissons."),
    'SAL25': ("Service", (90, 140, 90),
        "Saladier en porcelaine de 25 cm, pour six personnes."),
    'TH1': ("Service", (170, 60, 60),
        "Théière d'un litre avec filtre inox amovible."),
    'CAR1': ("Verres et carafes", (100, 160, 190),
        "Carafe en verre soufflé bouche, un litre."),
    'VE6': ("Verres et carafes", (130, 180, 200),
        "Six verres à eau, verre épais résistant aux chocs."),
    'FL6': ("Verres et carafes", (200, 180, 110),
        "Six flûtes à champagne en cristallin."),
    'MEN24': ("Couverts et coffrets", (110, 110, 120),
        "Ménagère de 24 pièces en acier inoxydable, pour six personnes."),
    'FON6': ("Couverts et coffrets", (180, 100, 50),
        "Service à fondue complet pour six personnes."),
    'RAM6': ("Couverts et coffrets", (210, 140, 120),
        "Coffret de six ramequins pour les crèmes et les gratins."),
    }


def plate_png(rgb, width=240, height=180):
    "A small PNG picture of a plate of this colour (no outside file)"
    background = bytes((251, 248, 243))
    rim, centre = bytes(rgb), bytes(min(255, c + 60) for c in rgb)
    cx, cy = width / 2, height / 2
    outer, inner = (min(width, height) * 0.45) ** 2, (
        min(width, height) * 0.28) ** 2
    rows = []
    for y in range(height):
        row = bytearray(b'\x00')
        for x in range(width):
            distance = (x - cx) ** 2 + (y - cy) ** 2
            row += (centre if distance < inner
                else rim if distance < outer else background)
        rows.append(bytes(row))

    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data
            + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
    return (b'\x89PNG\r\n\x1a\n'
        + chunk(b'IHDR', struct.pack(
                '>IIBBBBB', width, height, 8, 2, 0, 0, 0))
        + chunk(b'IDAT', zlib.compress(b''.join(rows), 9))
        + chunk(b'IEND', b''))


# The demo customer of the portal: the host of the closed meeting (an
# order, loyalty points and her host voucher)
DEMO_CUSTOMER = '10'
DEMO_EMAIL = 'anna.verdou@example.com'
DEMO_PASSWORD = 'bolair-demo-2026'


def build(config, customers, category, **kwargs):
    from proteus import Model
    Configuration = Model.get('bol_air.portal.configuration', config=config)
    Company = Model.get('company.company', config=config)
    configuration = Configuration(1)
    configuration.company, = Company.find([])
    configuration.save()
    _demo_shop(config, category)
    _demo_customer(config, customers)


def _demo_customer(config, customers):
    """Give one demo customer a validated portal account (README: its
    e-mail and the password ``bolair-demo-2026``)"""
    from proteus import Model
    WebUser = Model.get('web.user', config=config)
    party = customers[DEMO_CUSTOMER]
    party.reload()
    if not party.email:
        mechanism = party.contact_mechanisms.new()
        mechanism.type = 'email'
        mechanism.value = DEMO_EMAIL
        party.save()
    user = WebUser(email=party.email, party=party, email_valid=True)
    user.password = DEMO_PASSWORD
    user.save()
    return user


def _demo_shop(config, category):
    """The demo's tableware sold online, in categories, with French
    descriptions and drawn pictures"""
    from proteus import Model
    Template = Model.get('product.template', config=config)
    Category = Model.get('product.category', config=config)
    categories = {}
    for name, _, _ in CATALOGUE.values():
        if name not in categories:
            categories[name] = Category(name=name)
    Category.save(list(categories.values()))
    templates = Template.find([
            ('account_category', '=', category.id),
            ('type', '=', 'goods'),
            ])
    to_save = []
    for template in templates:
        codes = [p.suffix_code for p in template.products]
        entry = next((CATALOGUE[c] for c in codes if c in CATALOGUE), None)
        if entry is None:
            continue
        name, colour, description = entry
        template.portal_sold = True
        template.portal_description = description
        template.portal_image = plate_png(colour)
        template.categories.append(Category(categories[name].id))
        to_save.append(template)
    Template.save(to_save)
